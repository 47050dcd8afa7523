"""A face's soft elliptical area in the photo, in NumPy: the crop around the face (on the 8 px
JPEG grid) and an alpha in [0, 1] over it.

The ellipse is defined in the recognizer's chip coordinates (where every face is upright and the
same size) and mapped into the photo through the chip transform, so it follows the face's size and
tilt. :mod:`facecloak.faces.regions` wraps it for the cloaks; covering a face uses it directly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facecloak.faces.chip import DEFAULT_CHIP_SIZE, DEFAULT_PADDING, chip_transform
from facecloak.faces.face import Face

JPEG_BLOCK = 8


@dataclass(frozen=True)
class FaceEllipse:
    """An ellipse in chip coordinates, as fractions of the chip size.

    The defaults cover forehead to chin and cheek to cheek of dlib's padded chip; ``feather`` is the
    share of the radius over which the mask fades from 1 to 0.
    """

    centre_x: float = 0.5
    centre_y: float = 0.47
    radius_x: float = 0.40
    radius_y: float = 0.50
    feather: float = 0.2


@dataclass(frozen=True)
class EllipseArea:
    """``crop``: ``(x0, y0, x1, y1)`` photo pixels (exclusive ends); ``chip_to_crop``: ``(2, 3)``
    affine from chip pixels to crop pixels; ``alpha``: ``(h, w)`` float32 in [0, 1]."""

    crop: tuple[int, int, int, int]
    chip_to_crop: np.ndarray
    alpha: np.ndarray


def ellipse_area(
    face: Face,
    height: int,
    width: int,
    size: int = DEFAULT_CHIP_SIZE,
    padding: float = DEFAULT_PADDING,
    ellipse: FaceEllipse | None = None,
) -> EllipseArea:
    """The crop and soft ellipse of ``face`` in a ``height`` x ``width`` photo.

    Example:
        >>> from facecloak.data import astronaut
        >>> from facecloak.models import detect
        >>> photo = astronaut()
        >>> area = ellipse_area(detect(photo)[0], *photo.shape[:2])
        >>> area.alpha.shape == (area.crop[3] - area.crop[1], area.crop[2] - area.crop[0])
        True
    """
    if face.landmarks is None:
        raise ValueError("face has no landmarks; detect it with facecloak.models.detect")
    chip_to_photo = chip_transform(face.landmarks, size, padding)
    crop = _chip_footprint(chip_to_photo, size, height, width)
    chip_to_crop = chip_to_photo.copy()
    chip_to_crop[:, 2] -= crop[:2]
    alpha = _ellipse_alpha(chip_to_crop, size, crop, ellipse or FaceEllipse())
    return EllipseArea(crop, chip_to_crop, alpha)


def _chip_footprint(
    chip_to_photo: np.ndarray, size: int, height: int, width: int, margin: int = 4
) -> tuple[int, int, int, int]:
    corners = np.array([[0, 0, 1], [size - 1, 0, 1], [0, size - 1, 1], [size - 1, size - 1, 1]])
    points = corners @ chip_to_photo.T
    x0, y0 = np.floor(points.min(0)).astype(int) - margin
    x1, y1 = np.ceil(points.max(0)).astype(int) + margin + 1
    # Aligned to JPEG's 8x8 blocks so that re-encoding a crop and the photo agree.
    return on_jpeg_grid((x0, y0, x1, y1), height, width)


def on_jpeg_grid(box: tuple[int, ...], height: int, width: int) -> tuple[int, int, int, int]:
    """``box`` grown outward to JPEG's 8x8 block grid, inside a ``height`` x ``width`` photo."""
    x0, y0, x1, y1 = box
    x0, y0 = (max(0, v // JPEG_BLOCK * JPEG_BLOCK) for v in (x0, y0))
    x1 = min(width, -(-x1 // JPEG_BLOCK) * JPEG_BLOCK)
    y1 = min(height, -(-y1 // JPEG_BLOCK) * JPEG_BLOCK)
    return int(x0), int(y0), int(x1), int(y1)


def _ellipse_alpha(
    chip_to_crop: np.ndarray, size: int, crop: tuple[int, int, int, int], ellipse: FaceEllipse
) -> np.ndarray:
    crop_w, crop_h = crop[2] - crop[0], crop[3] - crop[1]
    linear, offset = chip_to_crop[:, :2], chip_to_crop[:, 2]
    ys, xs = np.mgrid[0:crop_h, 0:crop_w].astype(np.float64)
    xs, ys = xs.ravel() - offset[0], ys.ravel() - offset[1]
    # The 2x2 inverse applied element-wise (a solve over every pixel would wake BLAS threads).
    inverse = np.linalg.inv(linear) / (size - 1)
    chip_x = inverse[0, 0] * xs + inverse[0, 1] * ys
    chip_y = inverse[1, 0] * xs + inverse[1, 1] * ys
    radius = np.hypot(
        (chip_x - ellipse.centre_x) / ellipse.radius_x,
        (chip_y - ellipse.centre_y) / ellipse.radius_y,
    )
    ramp = np.clip((1.0 - radius) / ellipse.feather, 0.0, 1.0)
    smooth = ramp * ramp * (3.0 - 2.0 * ramp)  # smoothstep: no visible edge
    return smooth.reshape(crop_h, crop_w).astype(np.float32)
