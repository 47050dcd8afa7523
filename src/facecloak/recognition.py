"""Face recognition on photos: detect -> align -> embed -> compare, with any recognizer.

>>> from facecloak.data import grace_hopper
>>> embedding, face = embed_largest_face(grace_hopper())
>>> compare_embeddings(embedding, embedding).same
True
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache, lru_cache

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


@cache
def shared_recognizer(name: str) -> Recognizer:
    """The recognizer ``name``, loaded once per process (frozen: safe to share)."""
    from facecloak.models import load_recognizer

    return load_recognizer(name)


def usable_recognizers() -> tuple[str, ...]:
    """Every registered recognizer that can load here: dlib (it always can) first, then the
    others in registry order."""
    from facecloak.models import available_recognizers

    usable = [name for name, reason in available_recognizers().items() if reason is None]
    return tuple(sorted(usable, key=lambda name: name != "dlib"))


def resolve_recognizers(names: Sequence[str]) -> tuple[str, ...]:
    """``names`` with ``all`` expanded to :func:`usable_recognizers` (duplicates dropped)."""
    expanded = [n for name in names for n in (usable_recognizers() if name == "all" else [name])]
    return tuple(dict.fromkeys(expanded))


def embed_with_fresh_landmarks(rgb: np.ndarray, face: Face, recognizer: Recognizer) -> torch.Tensor:
    """``(1, D)``: the face's embedding with its landmarks predicted again on ``rgb`` (the
    detector's box is kept, its own keypoints are not), as a scraper would on the photo it got."""
    from facecloak.faces.landmarks import predict_landmarks

    fresh = Face(face.box, face.score, landmarks=predict_landmarks(rgb, face.box))
    with torch.no_grad():
        return recognizer.embed(rgb, [fresh])


def verdicts_by_recognizer(
    photo_a: tuple[np.ndarray, Face],
    photo_b: tuple[np.ndarray, Face],
    names: Sequence[str] = ("all",),
) -> list[Verdict]:
    """Does face A match face B? One :class:`Verdict` per recognizer (default: every usable
    one), so nobody has to trust one model.

    >>> from facecloak.data import grace_hopper
    >>> rgb = grace_hopper()
    >>> face = largest_face(detect(rgb))
    >>> [v.same for v in verdicts_by_recognizer((rgb, face), (rgb, face), ["dlib"])]
    [True]
    """
    verdicts = []
    for name in resolve_recognizers(names):
        recognizer = shared_recognizer(name)
        embedding_a = embed_with_fresh_landmarks(*photo_a, recognizer)[0]
        embedding_b = embed_with_fresh_landmarks(*photo_b, recognizer)[0]
        verdicts.append(recognizer.compare(embedding_a, embedding_b))
    return verdicts
