"""Classifying the face in a photo with a trained classifier."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from facecloak.classify.data import photo_chip
from facecloak.classify.model import ClassifierModel, Prediction
from facecloak.errors import NoFaceError
from facecloak.imaging import to_batch

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PhotoClassification:
    """The top identities for the face classified in a photo, most likely first."""

    predictions: list[Prediction]

    @property
    def identity(self) -> str:
        return self.predictions[0].identity

    def to_dict(self) -> dict:
        return {"predictions": [p.to_dict() for p in self.predictions]}


def classify(
    model: ClassifierModel,
    rgb: np.ndarray,
    *,
    top_k: int = 5,
    detector: str = "centerface",
    aligned: bool = False,
) -> PhotoClassification:
    """The ``top_k`` identities of the largest face in ``rgb`` (``(H, W, 3)`` uint8).

    With ``aligned``, ``rgb`` already is a face chip and is only resized to 150x150.

    Raises:
        NoFaceError: no face was found.
    """
    chip = photo_chip(rgb, detector=detector, aligned=aligned, how="largest")
    if chip is None:
        raise NoFaceError(f"no face found ({detector} detector)")
    tensor = to_batch(chip)
    return PhotoClassification(model.predict(tensor, top_k=top_k)[0])
