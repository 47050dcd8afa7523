"""What the dense face detectors (Ultra-Light, YuNet, RetinaFace) share.

Each of those detectors scores a fixed set of candidates (SSD anchors or feature-map cells) and
regresses a box for every one of them. :class:`DenseDetections` holds all of them, differentiably,
in the photo's pixel coordinates: an evasion attack pushes down every score whose box lies near a
face, and :func:`select_faces` turns the same tensors into :class:`Detections` (threshold + NMS).

This module also reads the detectors' ``.pth`` files from the shared models folder, with errors
that say where the file should go.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import NamedTuple

import torch
from torch import Tensor, nn

from facecloak.errors import FacecloakError, ModelNotFoundError
from facecloak.geometry import nms
from facecloak.models.centerface import Detections
from facecloak.paths import PROJECT_ROOT, shared_model_path

logger = logging.getLogger(__name__)

#: At most this many best-scoring candidates per image go into NMS (its cost is quadratic).
MAX_NMS_CANDIDATES = 5000


class WeightsFormatError(FacecloakError):
    """A weights file exists but does not hold the state dict the architecture expects."""


class DenseDetections(NamedTuple):
    """Every candidate box of a dense detector, before thresholding and NMS (differentiable).

    Attributes:
        scores: ``(N, A)`` face probability of each of the ``A`` anchors / feature-map cells.
        boxes: ``(N, A, 4)`` decoded ``x0, y0, x1, y1`` in pixels of the input photos (unclipped).
        landmarks: ``(N, A, 5, 2)`` decoded ``(x, y)`` keypoints in the same pixels (eye centres,
            nose tip, mouth corners, image-left first), or ``None`` for a model without them.
    """

    scores: Tensor
    boxes: Tensor
    landmarks: Tensor | None

    @property
    def centres(self) -> Tensor:
        """``(N, A, 2)`` ``(x, y)`` centres of the decoded boxes."""
        return (self.boxes[..., :2] + self.boxes[..., 2:]) / 2


def check_photos(photos: Tensor, model: str) -> None:
    """Raise ``ValueError`` unless ``photos`` is an ``(N, 3, H, W)`` floating-point batch."""
    if photos.ndim != 4 or photos.shape[1] != 3 or not photos.is_floating_point():
        raise ValueError(
            f"{model} expects an (N, 3, H, W) float RGB batch in [0, 1], got "
            f"{tuple(photos.shape)} {photos.dtype}: convert with photo_to_tensor()"
        )


def rgb_to_bgr_255(photos: Tensor) -> Tensor:
    """``(N, 3, H, W)`` RGB in ``[0, 1]`` as BGR in ``[0, 255]`` (OpenCV's pixel values)."""
    return photos.flip(1) * 255.0


@torch.no_grad()
def select_faces(
    candidates: DenseDetections,
    image_size: tuple[int, int],
    threshold: float,
    nms_iou: float,
) -> list[Detections]:
    """Candidates above ``threshold``, boxes clipped to the ``(H, W)`` photo, then greedy NMS.

    Returns one :class:`Detections` per batch item, best score first. For a model without
    landmarks, ``landmarks`` has shape ``(K, 0, 2)``.
    """
    height, width = image_size
    results = []
    for n in range(candidates.scores.shape[0]):
        scores = candidates.scores[n]
        keep = torch.nonzero(scores > threshold).flatten()
        if keep.numel() > MAX_NMS_CANDIDATES:
            keep = keep[scores[keep].topk(MAX_NMS_CANDIDATES).indices]
        boxes = candidates.boxes[n, keep]
        bounds = boxes.new_tensor([width, height, width, height])
        boxes = torch.minimum(boxes.clamp(min=0), bounds)
        if candidates.landmarks is None:
            points = boxes.new_zeros((len(keep), 0, 2))
        else:
            points = candidates.landmarks[n, keep]
        order = nms(boxes, scores[keep], nms_iou)
        results.append(Detections(boxes[order], scores[keep][order], points[order]))
    return results


def expected_weights_path(folder: str, filename: str) -> Path:
    """``<shared>/models/<folder>/<filename>`` when it exists, else where it would be looked for."""
    found = shared_model_path(folder, filename)
    if found is not None:
        return found
    shared = os.environ.get("FACECLOAK_SHARED") or str(PROJECT_ROOT.parent / "shared")
    return Path(shared) / "models" / folder / filename


def read_state_dict(
    path: str | Path | None, folder: str, filename: str, model: str, source: str
) -> tuple[dict[str, Tensor], Path]:
    """The tensors of a ``.pth`` state dict (or an mmdet checkpoint holding one) on the CPU.

    Args:
        path: the file; ``None`` means ``<shared>/models/<folder>/<filename>``.
        folder, filename: where the file lives in the shared models folder.
        model: the model's name, for messages.
        source: where to get the file, for the message when it is missing.

    Raises:
        ModelNotFoundError: the file does not exist (the message says where to put it).
        WeightsFormatError: the file is not a PyTorch state dict.
    """
    path = Path(path) if path is not None else expected_weights_path(folder, filename)
    if not path.is_file():
        raise ModelNotFoundError(
            f"{model} weights not found at {path}: put {filename} from {source} there "
            f"(or set FACECLOAK_SHARED to the folder holding models/{folder}/{filename}), "
            "or pass the file's path"
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a file that is not a checkpoint
        raise WeightsFormatError(f"{path}: cannot read it as a PyTorch state dict ({exc})") from exc
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]  # an mmdetection checkpoint (meta, state_dict, optimizer)
    if not isinstance(state, dict):
        raise WeightsFormatError(f"{path}: expected a state dict, found a {type(state).__name__}")
    return {key.removeprefix("module."): value for key, value in state.items()}, path


def load_into(net: nn.Module, state: dict[str, Tensor], path: Path, model: str) -> nn.Module:
    """Load ``state`` strictly into ``net``, freeze it and put it in eval mode.

    Raises:
        WeightsFormatError: names or shapes differ (the message lists the first few of each).
    """
    expected = net.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    misshaped = [
        f"{key} {tuple(state[key].shape)} (expected {tuple(value.shape)})"
        for key, value in expected.items()
        if key in state and tuple(state[key].shape) != tuple(value.shape)
    ]
    problems = [
        f"{label}: {', '.join(items[:4])}{' ...' if len(items) > 4 else ''}"
        for label, items in (
            ("missing", missing),
            ("unexpected", unexpected),
            ("wrong shape", misshaped),
        )
        if items
    ]
    if problems:
        raise WeightsFormatError(
            f"{path}: not the {model} state dict facecloak expects ({'; '.join(problems)})"
        )
    net.load_state_dict(state, strict=True)
    net.requires_grad_(False)
    logger.debug("loaded %s weights from %s", model, path)
    return net.eval()
