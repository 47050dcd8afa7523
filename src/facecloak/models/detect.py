"""``detect(image)``: every face in a photo, with dlib's 5 landmarks for alignment."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

from facecloak.faces.face import Face
from facecloak.faces.landmarks import predict_landmarks
from facecloak.geometry import SAME_FACE_IOU, box_iou, nested_in_better
from facecloak.images import PathLike, as_rgb_array
from facecloak.models.detectors import get_detector

DEFAULT_DETECTOR = "centerface"
NESTED_SHARE = 0.4
"""A face with this share of its box inside a better-scored face's box is that face found twice.
On the shared photos, CenterFace's second boxes on large faces (400 px and more) lie 0.46-0.63
inside the first; distinct faces, at most 0.33 (a face half-hidden behind another)."""


def detect(
    image: np.ndarray | Image.Image | PathLike,
    detector: str = DEFAULT_DETECTOR,
    landmarks: bool = True,
) -> list[Face]:
    """Find every face in ``image``, ordered left to right; a face found twice is kept once.

    Args:
        image: a path, a Pillow image or an ``(H, W, 3)`` array (uint8 or float in [0, 1]).
        detector: ``centerface`` (default), ``hog`` or ``cnn``.
        landmarks: also predict dlib's 5 landmarks for each face (needed for alignment).

    Example:
        >>> from skimage.data import astronaut
        >>> faces = detect(astronaut())
        >>> len(faces), faces[0].landmarks.shape
        (1, (5, 2))
    """
    rgb = as_rgb_array(image)
    found = get_detector(detector)(rgb)
    twice = nested_in_better([f.box for f in found], [f.score for f in found], NESTED_SHARE)
    faces = [face for i, face in enumerate(found) if i not in twice]
    if landmarks:
        for face in faces:
            face.landmarks = predict_landmarks(rgb, face.box)
    return sorted(faces, key=lambda face: (face.box[0], face.box[1]))


def find_again(
    image: np.ndarray, faces: Sequence[Face], detector: str = DEFAULT_DETECTOR
) -> list[Face | None]:
    """Each of ``faces`` as ``detector`` finds it on ``image`` (the detection whose box overlaps
    its box most, by IoU at least :data:`SAME_FACE_IOU`), as a reader of a changed photo finds
    it; ``None`` where none is. One detection serves every face.

    Example:
        >>> from skimage.data import astronaut
        >>> photo = astronaut()
        >>> face = detect(photo)[0]
        >>> find_again(photo, [face])[0].box == face.box
        True
    """
    candidates = detect(image, detector=detector)
    return [_best_overlap(candidates, face) for face in faces]


def _best_overlap(candidates: list[Face], face: Face) -> Face | None:
    best = max(candidates, key=lambda f: box_iou(f.box, face.box), default=None)
    if best is None or box_iou(best.box, face.box) < SAME_FACE_IOU:
        return None
    return best


def largest_face(faces: list[Face]) -> Face | None:
    """The face with the largest box, or ``None`` when there is none."""
    return max(faces, key=lambda face: face.area, default=None)


def centre_face(faces: list[Face], width: int, height: int) -> Face | None:
    """The face whose box centre is nearest the centre of a ``width`` x ``height`` photo (the
    subject of a cropped portrait, as in LFW), or ``None`` when there is none.

    Example:
        >>> faces = [Face((0, 0, 10, 10), 1.0), Face((40, 40, 60, 60), 1.0)]
        >>> centre_face(faces, 100, 100).box
        (40, 40, 60, 60)
    """

    def offset(face: Face) -> float:
        x0, y0, x1, y1 = face.box
        return ((x0 + x1) / 2 - width / 2) ** 2 + ((y0 + y1) / 2 - height / 2) ** 2

    return min(faces, key=offset, default=None)
