"""The detector contract: ``detector(rgb) -> list[Face]``, the threshold in one place, and, for
differentiable detectors, the dense scores an evasion attack lowers.

A detector is one class, in its model's file, decorated with :func:`register_detector`;
:mod:`facecloak.models.detectors` is the registry the CLI, the evasion cloak and the evaluations
read: it lists every detector by name and imports a detector's file when it is first used.
Large photos are downscaled to the detector's working size (``max_megapixels``) before
detection and the boxes mapped back, so time stays bounded.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from functools import cache
from typing import TYPE_CHECKING, ClassVar, TypeVar

import numpy as np
from PIL import Image

from facecloak.faces.face import Face

if TYPE_CHECKING:
    import torch
    from torch import nn

    from facecloak.models.centerface import Detections, FaceCandidates
    from facecloak.models.dense_detections import DenseDetections

logger = logging.getLogger(__name__)

DETECTOR_CLASSES: dict[str, type[FaceDetector]] = {}
"""Every registered detector class by name (filled by :func:`register_detector`)."""

DetectorT = TypeVar("DetectorT", bound=type["FaceDetector"])


def register_detector(cls: DetectorT) -> DetectorT:
    """Class decorator: make detector ``cls`` available by its ``name``."""
    DETECTOR_CLASSES[cls.name] = cls
    return cls


class FaceDetector(ABC):
    """Finds faces; subclasses implement :meth:`_detect` on an image already at working size."""

    name: ClassVar[str] = ""
    max_megapixels: ClassVar[float] = 4.0
    threshold: float = 0.0
    """A face is reported at or above this score (the detector's own scale)."""
    differentiable: ClassVar[bool] = False
    """Whether :meth:`face_candidates` gives differentiable dense scores (for evasion)."""

    def __call__(self, rgb: np.ndarray) -> list[Face]:
        small, scale = _downscale_to(rgb, self.max_megapixels)
        faces = self._detect(small)
        if scale != 1.0:
            faces = [_rescale_face(face, 1.0 / scale) for face in faces]
        return [_clip_face(face, rgb.shape[1], rgb.shape[0]) for face in faces]

    @abstractmethod
    def _detect(self, rgb: np.ndarray) -> list[Face]: ...

    def face_candidates(self, photo: torch.Tensor) -> FaceCandidates:
        """Every candidate's face probability (differentiable in ``photo``, ``(1, 3, H, W)`` RGB
        in [0, 1]), its centre, and the threshold this detector reports faces at."""
        raise NotImplementedError(f"the {self.name} detector is not differentiable")


class TorchPortDetector(FaceDetector):
    """A detector ported to torch (its model file defines the network): subclasses set
    ``name``, ``threshold``, ``nms_iou`` and give :meth:`load_network`, :meth:`find` (threshold
    + NMS on a photo) and :meth:`dense_scores` (every candidate, differentiable). The network
    loads on first use (so a missing weights file raises only then) and once per process."""

    nms_iou: float = 0.3
    differentiable = True

    def __init__(self, threshold: float | None = None, nms_iou: float | None = None) -> None:
        if threshold is not None:
            self.threshold = threshold
        if nms_iou is not None:
            self.nms_iou = nms_iou

    @staticmethod
    @abstractmethod
    def load_network() -> nn.Module:
        """The network with its weights (raises ``ModelNotFoundError`` where they are absent)."""

    @staticmethod
    @abstractmethod
    def find(net: nn.Module, rgb: np.ndarray, threshold: float, nms_iou: float) -> Detections:
        """Faces above ``threshold`` after NMS, in ``rgb``'s pixels."""

    @staticmethod
    @abstractmethod
    def dense_scores(net: nn.Module, photo: torch.Tensor) -> DenseDetections:
        """Every candidate of ``photo`` (``(1, 3, H, W)`` RGB in [0, 1]), differentiably."""

    def network(self) -> nn.Module:
        return _network_of(type(self))

    def face_candidates(self, photo: torch.Tensor) -> FaceCandidates:
        from facecloak.models.centerface import FaceCandidates

        dense = self.dense_scores(self.network(), photo)
        return FaceCandidates(dense.scores, dense.centres[0].detach(), self.threshold)

    def _find(self, rgb: np.ndarray) -> Detections:
        return self.find(self.network(), rgb, self.threshold, self.nms_iou)

    def _detect(self, rgb: np.ndarray) -> list[Face]:
        import torch  # here, not at the top: the onnxruntime and dlib detectors never need it

        # no_grad, not inference_mode: what the network caches on first use (its weights,
        # anchors) must stay usable by the differentiable path (face_candidates) later.
        with torch.no_grad():
            return faces_from(self._find(rgb), self.name)


@cache
def _network_of(cls: type[TorchPortDetector]) -> nn.Module:
    """The shared network of a torch-port detector class; a failed load is retried next time."""
    return cls.load_network()


def clear_network_cache() -> None:
    """Forget the loaded torch-port networks (after the weights folder changed)."""
    _network_of.cache_clear()


def faces_from(found: Detections, name: str) -> list[Face]:
    """:class:`Face` results from a detector's thresholded detections."""
    has_points = found.landmarks.shape[1] > 0
    return [
        Face(
            tuple(map(float, box)),
            float(score),
            detector=name,
            detector_keypoints=points.numpy().astype(np.float64) if has_points else None,
        )
        for box, score, points in zip(found.boxes, found.scores, found.landmarks, strict=True)
    ]


def _downscale_to(rgb: np.ndarray, max_megapixels: float) -> tuple[np.ndarray, float]:
    megapixels = rgb.shape[0] * rgb.shape[1] / 1e6
    if megapixels <= max_megapixels:
        return rgb, 1.0
    scale = (max_megapixels / megapixels) ** 0.5
    size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
    small = np.asarray(
        Image.fromarray(rgb).resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    )
    return small, size[0] / rgb.shape[1]


def _rescale_face(face: Face, factor: float) -> Face:
    box = tuple(v * factor for v in face.box)
    keypoints = None if face.detector_keypoints is None else face.detector_keypoints * factor
    return Face(box, face.score, detector=face.detector, detector_keypoints=keypoints)


def _clip_face(face: Face, width: int, height: int) -> Face:
    x0, y0, x1, y1 = face.box
    face.box = (max(0.0, x0), max(0.0, y0), min(float(width), x1), min(float(height), y1))
    return face
