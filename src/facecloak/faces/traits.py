"""Simple, measurable traits of a face from its 68 landmarks and pixels: pose, mouth, skin tone,
glasses. Donor choice for face swapping matches them (a closed mouth is not pasted on an open one).

The glasses test is a heuristic: a frame's bridge draws a horizontal edge across the top of the
nose, where a bare nose is smooth.

Example:
    >>> from facecloak.data import astronaut
    >>> from facecloak.faces.landmarks import predict_landmarks_68
    >>> photo = astronaut()
    >>> traits = measure_traits(photo, predict_landmarks_68(photo, (175, 76, 266, 167)))
    >>> traits.mouth_open, traits.glasses
    (False, False)
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from facecloak.faces.shape import inter_ocular, mouth_opening, yaw

MOUTH_OPEN = 0.12
"""Inner-lip gap (in inter-ocular distances) above which the mouth counts as open."""
CHEEKS = (1, 2, 3, 4, 48, 31, 33, 35, 54, 12, 13, 14, 15, 45, 42, 39, 36)
"""A polygon over cheeks and nose, below the eyes and beside the mouth: where skin shows."""
BRIDGE_CROSSING = 0.6
"""Share of the nose bridge's width an edge must cross to count as a frame's bridge."""


@dataclass(frozen=True)
class FaceTraits:
    """``yaw`` in [-1, 1]; ``mouth_open``; ``skin``: median CIE Lab (L 0-100) of the cheeks;
    ``glasses``."""

    yaw: float
    mouth_open: bool
    skin: tuple[float, float, float]
    glasses: bool


def measure_traits(rgb: np.ndarray, points: np.ndarray) -> FaceTraits:
    """The :class:`FaceTraits` of the face with 68 ``points`` in the photo ``rgb``."""
    return FaceTraits(
        yaw=yaw(points),
        mouth_open=mouth_opening(points) > MOUTH_OPEN,
        skin=skin_tone(rgb, points),
        glasses=wears_glasses(rgb, points),
    )


def skin_tone(rgb: np.ndarray, points: np.ndarray) -> tuple[float, float, float]:
    """Median CIE Lab colour inside the cheek polygon (:data:`CHEEKS`)."""
    mask = np.zeros(rgb.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(points[list(CHEEKS)]).astype(np.int32)], 1)
    if not mask.any():
        return (50.0, 0.0, 0.0)
    lab = cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
    median = np.median(lab[mask.astype(bool)], axis=0)
    return (float(median[0]), float(median[1]), float(median[2]))


def wears_glasses(rgb: np.ndarray, points: np.ndarray) -> bool:
    """Whether a frame's bridge crosses the top of the nose (see the module's note)."""
    size = inter_ocular(points)
    centre_x = points[27, 0]
    top, bottom = points[27, 1], points[29, 1]
    x0, x1 = round(centre_x - 0.06 * size), round(centre_x + 0.06 * size) + 1
    y0, y1 = round(top), round(bottom) + 1
    height, width = rgb.shape[:2]
    if x0 < 0 or y0 < 0 or x1 > width or y1 > height or y1 - y0 < 4 or x1 - x0 < 2:
        return False
    grey = cv2.cvtColor(np.ascontiguousarray(rgb[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY)
    grey = cv2.GaussianBlur(grey, (3, 3), 0)
    edges = cv2.Canny(grey, 60, 160)
    return bool(((edges > 0).mean(axis=1) >= BRIDGE_CROSSING).any())
