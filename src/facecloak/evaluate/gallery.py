"""The photos an evaluation works on: each clean embedding, then each protected photo's
evaluation, where one photo that cannot be read or protected is said, counted and left out
instead of stopping the run."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

import torch
from tqdm import tqdm

from facecloak.datasets import LabelledPhoto
from facecloak.errors import FacecloakError
from facecloak.faces import Face
from facecloak.images import load_image
from facecloak.models import detect, largest_face

logger = logging.getLogger(__name__)

T = TypeVar("T")


def clean_embeddings(
    photos: list[LabelledPhoto], detector: str, recognizer: torch.nn.Module
) -> tuple[dict[LabelledPhoto, tuple[torch.Tensor, Face]], list[LabelledPhoto], list[str]]:
    """Clean embeddings and faces; photos without a face; unreadable ones (said, left out)."""
    from facecloak.recognition import embed_faces

    clean: dict[LabelledPhoto, tuple[torch.Tensor, Face]] = {}
    skipped = []
    failed: list[str] = []
    for photo in tqdm(photos, desc="clean gallery", unit="photo", leave=False):
        try:
            rgb = load_image(photo.path)
        except (FacecloakError, OSError) as exc:
            failed.append(failure(photo, exc))
            continue
        face = largest_face(detect(rgb, detector=detector))
        if face is None:
            logger.warning("%s: no face found; left out", photo.path)
            skipped.append(photo)
            continue
        clean[photo] = (embed_faces(rgb, [face], recognizer)[0], face)
    return clean, skipped, failed


def evaluate_each(
    clean: dict[LabelledPhoto, tuple[torch.Tensor, Face]],
    evaluate_one: Callable[..., T],
    keep_images: int,
    failed: list[str],
    label: str,
) -> list[T]:
    """Every photo's evaluation; one that fails is said, added to ``failed`` and left out."""
    evaluations = []
    for index, (photo, (embedding, face)) in enumerate(
        tqdm(list(clean.items()), desc=label, unit="photo", leave=False)
    ):
        try:
            evaluations.append(evaluate_one(photo, face, embedding, keep_image=index < keep_images))
        except (FacecloakError, OSError) as exc:
            failed.append(failure(photo, exc))
    return evaluations


def failure(photo: LabelledPhoto, exc: Exception) -> str:
    reason = str(exc) if str(photo.path) in str(exc) else f"{photo.path}: {exc}"
    logger.warning("%s; left out of the evaluation", reason)
    return reason
