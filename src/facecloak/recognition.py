"""Face recognition on photos: detect -> align -> embed -> compare, with any recognizer.

>>> from facecloak.data import grace_hopper
>>> embedding, face = embed_largest_face(grace_hopper())
>>> compare_embeddings(embedding, embedding).same
True
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from facecloak.errors import NoFaceError
from facecloak.faces import Face
from facecloak.models import DEFAULT_DETECTOR, detect, largest_face
from facecloak.models.recognizer import Recognizer, Verdict

FaceComparison = Verdict
"""The former name of :class:`~facecloak.models.recognizer.Verdict`."""


@lru_cache(maxsize=1)
def default_recognizer() -> Recognizer:
    """dlib's ResNet in torch, loaded once per process."""
    from facecloak.models import load_recognizer

    return load_recognizer("dlib")


def embed_faces(
    rgb: np.ndarray, faces: list[Face], recognizer: Recognizer | None = None
) -> torch.Tensor:
    """Embeddings ``(F, D)`` of ``faces`` in the photo ``rgb``, aligned by the recognizer."""
    return (recognizer or default_recognizer()).embed(rgb, faces)


def embed_largest_face(
    rgb: np.ndarray, detector: str = DEFAULT_DETECTOR, recognizer: Recognizer | None = None
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
    embedding_a: torch.Tensor, embedding_b: torch.Tensor, recognizer: Recognizer | None = None
) -> Verdict:
    """Compare two embeddings of ``recognizer`` (default dlib's) by its distance and threshold."""
    return (recognizer or default_recognizer()).compare(embedding_a, embedding_b)
