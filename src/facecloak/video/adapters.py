"""The video package's only calls into the photo APIs: detection, obfuscation, recognition.

Kept together so that a change of those APIs is adapted here and nowhere else in the package.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from facecloak.errors import FacecloakError, NoFaceError
from facecloak.video.geometry import Box
from facecloak.video.render import Filter

Detector = Callable[[np.ndarray], list[Box]]
"""``rgb frame -> face boxes`` (frame pixels)."""

VIDEO_METHODS = ("blur", "pixelate", "mask")


def make_detector(name: str) -> Detector:
    """The photo detector ``name`` as a frame -> boxes function."""
    from facecloak.faces import get_detector

    try:
        detector = get_detector(name)
    except ValueError as exc:
        raise FacecloakError(f"{exc}; pick one of those with --detector") from exc

    def boxes(rgb: np.ndarray) -> list[Box]:
        return [tuple(float(v) for v in face.box) for face in detector(rgb)]

    return boxes


def obfuscation_filter(method: str) -> Filter:
    """The crop filter of a classical obfuscation (``blur``, ``pixelate``, ``mask``)."""
    from facecloak.obfuscate import OBFUSCATIONS

    if method not in OBFUSCATIONS:
        raise FacecloakError(
            f"--method {method} is not available for video yet; use one of "
            f"{', '.join(VIDEO_METHODS)}"
        )
    return OBFUSCATIONS[method]


class IdentityMatcher:
    """Distance of a face in a frame to the people of ``--keep-face`` photos (dlib's recognizer).

    Each photo contributes the embedding of its largest face; a face's distance is the smallest
    to any of them, on the recognizer's scale (same person below :attr:`threshold`).
    """

    def __init__(self, photos: Sequence[Path], detector: str) -> None:
        from facecloak.images import load_image
        from facecloak.recognition import compare_embeddings, default_recognizer, embed_largest_face

        self._recognizer = default_recognizer()
        references = []
        for photo in photos:
            try:
                embedding, _ = embed_largest_face(load_image(photo), detector, self._recognizer)
            except NoFaceError as exc:
                raise NoFaceError(
                    f"{photo}: no face found for --keep-face; give a clear portrait"
                ) from exc
            references.append(embedding)
        self._references = references
        self.threshold = compare_embeddings(references[0], references[0]).threshold

    def distance(self, rgb: np.ndarray, box: Box) -> float:
        """Smallest distance between the face in ``box`` and the reference faces."""
        from facecloak.faces import Face
        from facecloak.faces.landmarks import predict_landmarks
        from facecloak.recognition import compare_embeddings, embed_faces

        face = Face(box=box, score=1.0, landmarks=predict_landmarks(rgb, box))
        embedding = embed_faces(rgb, [face], self._recognizer)[0]
        return min(compare_embeddings(embedding, ref).distance for ref in self._references)
