"""Classical face obfuscation: blur, pixelate, or a solid mask over each face's ellipse.

These are the baselines cloaking is compared with: they defeat recognition by destroying the
face, which a person sees at once. Each works inside the same face ellipse the cloak uses
(:mod:`facecloak.faces.regions`), so comparisons are like for like.

Example:
    >>> from facecloak.data import grace_hopper
    >>> from facecloak.models import detect
    >>> photo = grace_hopper()
    >>> hidden = obfuscate_faces(photo, detect(photo), "pixelate")
    >>> hidden.shape == photo.shape
    True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageFilter

from facecloak.faces.ellipse import FaceEllipse, ellipse_area

if TYPE_CHECKING:
    from facecloak.faces.face import Face

Obfuscation = Callable[[np.ndarray, float], np.ndarray]
"""``(crop, face_size_px) -> obfuscated crop`` of the same shape."""


def blur(crop: np.ndarray, face_size: float) -> np.ndarray:
    """Gaussian blur with a radius of 1/8 of the face size (features unreadable)."""
    radius = max(2.0, face_size / 8)
    return np.asarray(Image.fromarray(crop).filter(ImageFilter.GaussianBlur(radius)))


def pixelate(crop: np.ndarray, face_size: float, blocks_across_face: int = 8) -> np.ndarray:
    """Mosaic with about ``blocks_across_face`` blocks across the face."""
    block = max(2, round(face_size / blocks_across_face))
    height, width = crop.shape[:2]
    small = Image.fromarray(crop).resize(
        (max(1, width // block), max(1, height // block)), Image.Resampling.BOX
    )
    return np.asarray(small.resize((width, height), Image.Resampling.NEAREST))


def solid(
    crop: np.ndarray, face_size: float, colour: tuple[int, int, int] = (0, 0, 0)
) -> np.ndarray:
    """A solid colour (black by default)."""
    return np.broadcast_to(np.array(colour, dtype=np.uint8), crop.shape).copy()


OBFUSCATIONS: dict[str, Obfuscation] = {"blur": blur, "pixelate": pixelate, "mask": solid}

# Classical methods cover the whole face with a firm edge (the mask is meant to be seen).
_COVER_ELLIPSE = {"radius_x": 0.42, "radius_y": 0.52, "feather": 0.06}


def obfuscate_faces(image: np.ndarray, faces: list[Face], method: str) -> np.ndarray:
    """A copy of ``image`` with each face obfuscated by ``method`` (``blur|pixelate|mask``)."""
    if method not in OBFUSCATIONS:
        raise ValueError(f"unknown obfuscation {method!r}; choose from {', '.join(OBFUSCATIONS)}")
    ellipse = FaceEllipse(**_COVER_ELLIPSE)
    result = image.copy()
    for face in faces:
        area = ellipse_area(face, *image.shape[:2], ellipse=ellipse)
        x0, y0, x1, y1 = area.crop
        crop = result[y0:y1, x0:x1]
        changed = OBFUSCATIONS[method](np.ascontiguousarray(crop), max(face.width, face.height))
        alpha = area.alpha[..., None]
        blended = crop.astype(np.float32) * (1 - alpha) + changed.astype(np.float32) * alpha
        result[y0:y1, x0:x1] = np.clip(np.rint(blended), 0, 255).astype(np.uint8)
    return result
