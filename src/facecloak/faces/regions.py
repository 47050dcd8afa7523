"""Where a face's cloak may live: a crop of the photo and a soft elliptical mask inside it.

The ellipse is defined in the recognizer's chip coordinates (where every face is upright and the
same size) and mapped into the photo through the chip transform, so it follows the face's size and
tilt. Outside the mask the perturbation is exactly zero: those pixels stay byte-identical.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from facecloak.faces.align import DEFAULT_CHIP_SIZE, DEFAULT_PADDING, chip_transform
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
class FaceRegion:
    """One face's working area.

    Attributes:
        face: the detected face.
        crop: ``(x0, y0, x1, y1)`` photo pixels (exclusive ends), aligned to the 8 px JPEG grid.
        chip_to_crop: ``(2, 3)`` affine from chip pixels to crop pixels.
        mask: ``(1, 1, h, w)`` float in [0, 1], where the cloak may change the crop.
    """

    face: Face
    crop: tuple[int, int, int, int]
    chip_to_crop: np.ndarray
    mask: torch.Tensor

    def take(self, photo: torch.Tensor) -> torch.Tensor:
        """The crop of a ``(1, 3, H, W)`` photo tensor (a copy)."""
        x0, y0, x1, y1 = self.crop
        return photo[..., y0:y1, x0:x1].clone()

    @property
    def face_box(self) -> tuple[int, int, int, int]:
        """The detector's face box in integer photo pixels (rounded, as ``evaluate`` measures
        SSIM), inside the crop: where the SSIM floor is kept."""
        x0, y0, x1, y1 = (round(v) for v in self.face.box)
        cx0, cy0, cx1, cy1 = self.crop
        return (max(x0, cx0), max(y0, cy0), min(x1, cx1), min(y1, cy1))

    @property
    def mask_box(self) -> tuple[int, int, int, int]:
        """Photo-pixel box of the mask's support, for quality measurements of the face region."""
        rows = torch.nonzero(self.mask[0, 0].sum(1) > 0).flatten()
        cols = torch.nonzero(self.mask[0, 0].sum(0) > 0).flatten()
        x0, y0 = self.crop[:2]
        if rows.numel() == 0:
            return (x0, y0, x0, y0)
        return (
            x0 + int(cols[0]),
            y0 + int(rows[0]),
            x0 + int(cols[-1]) + 1,
            y0 + int(rows[-1]) + 1,
        )


def face_region(
    face: Face,
    height: int,
    width: int,
    size: int = DEFAULT_CHIP_SIZE,
    padding: float = DEFAULT_PADDING,
    ellipse: FaceEllipse | None = None,
) -> FaceRegion:
    """Crop, chip transform and soft mask for ``face`` in a ``height`` x ``width`` photo.

    Example:
        >>> from facecloak.data import astronaut
        >>> from facecloak.models import detect
        >>> photo = astronaut()
        >>> region = face_region(detect(photo)[0], *photo.shape[:2])
        >>> region.mask.shape[:2], float(region.mask.max())
        (torch.Size([1, 1]), 1.0)
    """
    if face.landmarks is None:
        raise ValueError("face has no landmarks; detect it with facecloak.models.detect")
    chip_to_photo = chip_transform(face.landmarks, size, padding)
    crop = _chip_footprint(chip_to_photo, size, height, width)
    chip_to_crop = chip_to_photo.copy()
    chip_to_crop[:, 2] -= crop[:2]
    mask = _ellipse_mask(chip_to_crop, size, crop, ellipse or FaceEllipse())
    return FaceRegion(face=face, crop=crop, chip_to_crop=chip_to_crop, mask=mask)


def _chip_footprint(
    chip_to_photo: np.ndarray, size: int, height: int, width: int, margin: int = 4
) -> tuple[int, int, int, int]:
    corners = np.array([[0, 0, 1], [size - 1, 0, 1], [0, size - 1, 1], [size - 1, size - 1, 1]])
    points = corners @ chip_to_photo.T
    x0, y0 = np.floor(points.min(0)).astype(int) - margin
    x1, y1 = np.ceil(points.max(0)).astype(int) + margin + 1
    # Aligned to JPEG's 8x8 blocks so that re-encoding a crop and the photo agree.
    x0, y0 = (max(0, v // JPEG_BLOCK * JPEG_BLOCK) for v in (x0, y0))
    x1 = min(width, -(-x1 // JPEG_BLOCK) * JPEG_BLOCK)
    y1 = min(height, -(-y1 // JPEG_BLOCK) * JPEG_BLOCK)
    return int(x0), int(y0), int(x1), int(y1)


def _ellipse_mask(
    chip_to_crop: np.ndarray, size: int, crop: tuple[int, int, int, int], ellipse: FaceEllipse
) -> torch.Tensor:
    crop_w, crop_h = crop[2] - crop[0], crop[3] - crop[1]
    linear, offset = chip_to_crop[:, :2], chip_to_crop[:, 2]
    ys, xs = np.mgrid[0:crop_h, 0:crop_w].astype(np.float64)
    pixels = np.stack([xs.ravel(), ys.ravel()]) - offset[:, None]
    chip_x, chip_y = np.linalg.solve(linear, pixels) / (size - 1)
    radius = np.hypot(
        (chip_x - ellipse.centre_x) / ellipse.radius_x,
        (chip_y - ellipse.centre_y) / ellipse.radius_y,
    )
    ramp = np.clip((1.0 - radius) / ellipse.feather, 0.0, 1.0)
    smooth = ramp * ramp * (3.0 - 2.0 * ramp)  # smoothstep: no visible edge
    return torch.from_numpy(smooth.reshape(1, 1, crop_h, crop_w).astype(np.float32))
