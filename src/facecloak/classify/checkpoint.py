"""Saving and loading trained classifiers (``MODEL.pt``).

A checkpoint is a ``torch.save`` dictionary readable with ``weights_only=True``:

* ``format``: ``"facecloak-classifier"``, ``version``: 1;
* ``arch``, ``class_names``, ``image_size``, ``mean`` (3 floats), ``std`` (float): everything
  :class:`~facecloak.classify.model.ClassifierModel` needs to rebuild the preprocessing;
* ``state_dict``: the trained weights. For ``dlib-head`` only the head: the frozen dlib network
  is loaded from the installed dlib model at load time;
* ``training``: how it was trained (settings, per-epoch history, best epoch).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch

from facecloak.classify.model import ClassifierModel
from facecloak.errors import FacecloakError
from facecloak.models.classifiers import ARCHITECTURES, build_network

logger = logging.getLogger(__name__)

FORMAT = "facecloak-classifier"
VERSION = 1


def save_classifier(
    model: ClassifierModel, path: str | Path, training: dict[str, Any] | None = None
) -> Path:
    """Write ``model`` to ``path`` (parent folders are created; written atomically)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "arch": model.arch,
        "class_names": list(model.class_names),
        "image_size": model.image_size,
        "mean": [float(v) for v in model.mean.flatten()],
        "std": float(model.std),
        "state_dict": model.trainable_state(),
        "training": training or {},
    }
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)
    logger.info("saved %s classifier (%d classes) to %s", model.arch, model.num_classes, path)
    return path


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The checkpoint dictionary, validated.

    Raises:
        FacecloakError: the file is missing or is not a facecloak classifier.
    """
    path = Path(path)
    if not path.is_file():
        raise FacecloakError(
            f"{path}: no such model file; train one with `facecloak train DATASET -o {path}`"
        )
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a foreign or damaged file
        raise FacecloakError(
            f"{path}: not a readable classifier checkpoint ({type(exc).__name__}); "
            "train one with `facecloak train`"
        ) from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise FacecloakError(
            f"{path}: not a facecloak classifier checkpoint; train one with `facecloak train`"
        )
    if payload.get("version") != VERSION or payload.get("arch") not in ARCHITECTURES:
        raise FacecloakError(
            f"{path}: unsupported checkpoint (version {payload.get('version')}, arch "
            f"{payload.get('arch')!r}); retrain it with this facecloak version"
        )
    return payload


def load_classifier(path: str | Path) -> ClassifierModel:
    """A trained classifier in eval mode with frozen weights (see :class:`ClassifierModel`).

    Raises:
        FacecloakError: the file is missing, foreign or does not fit its architecture.
    """
    payload = read_checkpoint(path)
    network = build_network(payload["arch"], len(payload["class_names"]), payload["image_size"])
    model = ClassifierModel(
        network,
        arch=payload["arch"],
        class_names=payload["class_names"],
        image_size=payload["image_size"],
        mean=payload["mean"],
        std=payload["std"],
    )
    try:
        model.load_trainable_state(payload["state_dict"])
    except (ValueError, RuntimeError) as exc:
        raise FacecloakError(f"{path}: damaged checkpoint ({exc}); retrain it") from exc
    model.requires_grad_(False).eval()
    logger.info("loaded %s classifier with %d classes from %s", model.arch, model.num_classes, path)
    return model


def training_info(path: str | Path) -> dict[str, Any]:
    """The ``training`` record of a checkpoint (settings and history)."""
    return dict(read_checkpoint(path).get("training", {}))
