"""The generator's view of a face: a 128 px crop aligned on five points of the 68 landmarks, the
ellipse over the face that is blanked out, and the landmarks drawn as line maps.

The crop leaves a ring of surroundings (hair, ears, neck, background) around the face: the
generator sees that ring and must fill the ellipse in a way that fits it.

Example:
    >>> points = np.zeros((68, 2)) + 64.0
    >>> landmark_maps(points).shape
    (6, 128, 128)
"""

from __future__ import annotations

import cv2
import numpy as np

from facecloak.errors import FacecloakError
from facecloak.faces.shape import face_outline

CROP_SIZE = 128
TEMPLATE = np.array(
    [[0.36, 0.42], [0.64, 0.42], [0.50, 0.56], [0.385, 0.68], [0.615, 0.68]], np.float64
)
"""Where the eye centres, nose tip and mouth corners land, as fractions of the crop side."""
PARTS = (
    (slice(0, 17), False),
    (slice(17, 22), False),
    (slice(22, 27), False),
    (slice(27, 31), False),
    (slice(31, 36), False),
    (slice(36, 42), True),
    (slice(42, 48), True),
    (slice(48, 60), True),
    (slice(60, 68), True),
)
"""Polylines of the 68 points (slice, closed)."""
CHANNEL_OF_PART = (0, 1, 1, 2, 2, 3, 3, 4, 5)
"""Map channel of each part: jaw, brows, nose, eyes, outer lips, inner lips."""
MAP_CHANNELS = 6
ELLIPSE_FOREHEAD = 0.3
"""How far above the brows the ellipse reaches, in inter-ocular distances."""
ELLIPSE_GROWTH = 1.06


def key_points(points: np.ndarray) -> np.ndarray:
    """Eye centres, nose tip and mouth corners (5, 2) from 68 landmarks, in :data:`TEMPLATE`'s
    order (image left to right)."""
    return np.stack(
        [points[36:42].mean(0), points[42:48].mean(0), points[30], points[48], points[54]]
    ).astype(np.float64)


def alignment(points: np.ndarray, size: int = CROP_SIZE) -> np.ndarray:
    """The (2, 3) similarity taking photo pixels to crop pixels."""
    matrix, _ = cv2.estimateAffinePartial2D(
        key_points(points).astype(np.float32), (TEMPLATE * size).astype(np.float32)
    )
    if matrix is None:
        raise FacecloakError("a face's landmarks are degenerate: it cannot be aligned")
    return matrix


def align_crop(
    rgb: np.ndarray, points: np.ndarray, size: int = CROP_SIZE
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The aligned ``(size, size, 3)`` crop, the landmarks in it and the photo-to-crop matrix."""
    matrix = alignment(points, size)
    crop = cv2.warpAffine(
        np.ascontiguousarray(rgb),
        matrix,
        (size, size),
        flags=cv2.INTER_AREA,
        borderMode=cv2.BORDER_REFLECT,
    )
    return crop, transform_points(points, matrix), matrix


def transform_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``points`` (N, 2) moved by the (2, 3) affine ``matrix``."""
    return points @ matrix[:, :2].T + matrix[:, 2]


def ellipse_mask(points: np.ndarray, size: int = CROP_SIZE) -> np.ndarray:
    """``(size, size)`` float32, 1 inside the ellipse fitted round the face (jaw and raised brows),
    grown a little so the face's edge is blanked too."""
    outline = face_outline(points, ELLIPSE_FOREHEAD).astype(np.float32)
    (cx, cy), (width, height), angle = cv2.fitEllipse(outline)
    mask = np.zeros((size, size), np.uint8)
    axes = (round(width * ELLIPSE_GROWTH / 2), round(height * ELLIPSE_GROWTH / 2))
    cv2.ellipse(mask, (round(cx), round(cy)), axes, angle, 0, 360, 1, -1)
    return mask.astype(np.float32)


def landmark_maps(points: np.ndarray, size: int = CROP_SIZE) -> np.ndarray:
    """``(6, size, size)`` float32 in [0, 1]: the landmark polylines drawn per part group
    (:data:`CHANNEL_OF_PART`), softened by a small blur."""
    maps = np.zeros((MAP_CHANNELS, size, size), np.uint8)
    scale = 16  # cv2 draws with 4 fractional bits: sub-pixel lines
    for (part, closed), channel in zip(PARTS, CHANNEL_OF_PART, strict=True):
        line = np.round(points[part] * scale).astype(np.int32)
        cv2.polylines(maps[channel], [line], closed, 255, 1, cv2.LINE_AA, shift=4)
    out = maps.astype(np.float32) / 255.0
    return np.stack([cv2.GaussianBlur(m, (3, 3), 0.8) for m in out])
