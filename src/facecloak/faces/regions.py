"""Where a face's cloak may live: a crop of the photo and a soft elliptical mask inside it.

The ellipse is defined in the recognizer's chip coordinates (where every face is upright and the
same size) and mapped into the photo through the chip transform, so it follows the face's size and
tilt. Outside the mask the perturbation is exactly zero: those pixels stay byte-identical.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from facecloak.faces.chip import DEFAULT_CHIP_SIZE, DEFAULT_PADDING
from facecloak.faces.ellipse import FaceEllipse, ellipse_area, on_jpeg_grid
from facecloak.faces.face import Face
from facecloak.geometry import widened

__all__ = ["FaceEllipse", "FaceRegion", "face_region"]


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

    def with_context(self, min_side: int, height: int, width: int) -> FaceRegion:
        """This region with its crop grown (on the 8 px grid, inside the ``height`` x ``width``
        photo) to hold the face box widened to ``min_side`` pixels a side
        (:func:`~facecloak.geometry.widened`), where SSIMULACRA2 judges it; the mask is zero
        in the new margin, so the cloak still changes only the face."""
        window = on_jpeg_grid(widened(self.face.box, min_side, height, width), height, width)
        cx0, cy0, cx1, cy1 = self.crop
        x0, y0 = min(cx0, window[0]), min(cy0, window[1])
        x1, y1 = max(cx1, window[2]), max(cy1, window[3])
        if (x0, y0, x1, y1) == self.crop:
            return self
        chip_to_crop = self.chip_to_crop.copy()
        chip_to_crop[:, 2] += (cx0 - x0, cy0 - y0)
        mask = F.pad(self.mask, (cx0 - x0, x1 - cx1, cy0 - y0, y1 - cy1))
        return FaceRegion(self.face, (x0, y0, x1, y1), chip_to_crop, mask)


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
    area = ellipse_area(face, height, width, size, padding, ellipse)
    mask = torch.from_numpy(area.alpha[None, None])
    return FaceRegion(face=face, crop=area.crop, chip_to_crop=area.chip_to_crop, mask=mask)
