"""Face recognition on photos: detect -> align -> embed -> compare."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from facecloak.errors import NoFaceError
from facecloak.faces import Face
from facecloak.models import DEFAULT_DETECTOR, detect, largest_face


@dataclass(frozen=True)
class FaceComparison:
    """Euclidean distance between two embeddings and the recognizer's verdict."""

    distance: float
    threshold: float

    @property
    def same(self) -> bool:
        return self.distance < self.threshold

    def to_dict(self) -> dict:
        return {"distance": round(self.distance, 6), "threshold": self.threshold, "same": self.same}


@lru_cache(maxsize=1)
def default_recognizer() -> torch.nn.Module:
    """dlib's ResNet in torch, loaded once per process."""
    from facecloak.models import load_recognizer

    return load_recognizer("dlib")


def embed_faces(
    rgb: np.ndarray, faces: list[Face], recognizer: torch.nn.Module | None = None
) -> torch.Tensor:
    """Embeddings ``(F, D)`` of ``faces`` in the photo ``rgb``, aligned from its full resolution."""
    from facecloak.faces.align import face_chips, to_tensor

    recognizer = recognizer or default_recognizer()
    if not faces:
        return torch.empty(0, 128)
    with torch.no_grad():
        chips = face_chips(to_tensor(rgb), faces, size=recognizer.input_size)
        return recognizer(chips)


def embed_largest_face(
    rgb: np.ndarray, detector: str = DEFAULT_DETECTOR, recognizer: torch.nn.Module | None = None
) -> tuple[torch.Tensor, Face]:
    """The embedding ``(D,)`` of the largest face in ``rgb`` and that face.

    Raises:
        NoFaceError: when the detector finds no face.
    """
    face = largest_face(detect(rgb, detector=detector))
    if face is None:
        raise NoFaceError("no face found")
    return embed_faces(rgb, [face], recognizer)[0], face


def compare_embeddings(
    embedding_a: torch.Tensor, embedding_b: torch.Tensor, threshold: float | None = None
) -> FaceComparison:
    """Compare two embeddings by Euclidean distance against dlib's 0.6 threshold (by default)."""
    if threshold is None:
        threshold = float(getattr(default_recognizer(), "threshold", 0.6))
    distance = float(torch.linalg.vector_norm(embedding_a - embedding_b))
    return FaceComparison(distance=distance, threshold=threshold)
