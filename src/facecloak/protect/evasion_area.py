"""Where the evasion cloak works: one crop holding every protected face (the whole photo unless
it is large), the soft mask the change may go in, the boxes whose SSIM is kept, the coarser grid
the change lives on for large crops, and which detector candidates count as near a face."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import torch
from torch import Tensor

from facecloak.faces import Face
from facecloak.models.centerface import FaceCandidates


class AreaSettings(Protocol):
    """What :func:`work_area` reads of the evasion settings."""

    max_work_megapixels: float
    context: float
    region: str
    mask_growth: float


SSIM_BOX_PADDING = 0.1
"""The SSIM floor holds over each face box grown by this share of its size on every side (the
cloak also changes the head's outline, so the bare box would flatter it)."""


@dataclass
class WorkArea:
    """One crop holding every protected face: where the cloak may go (``mask``), each face's
    box in crop pixels, and the coarser grid the cloak lives on for large crops."""

    crop: tuple[int, int, int, int]
    mask: Tensor
    face_boxes: list[tuple[int, int, int, int]]
    ssim_boxes: list[tuple[int, int, int, int]]
    grid: tuple[int, int] | None


def work_area(faces: Sequence[Face], shape: tuple[int, int], settings: AreaSettings) -> WorkArea:
    height, width = shape
    crop = (0, 0, width, height)
    if height * width > settings.max_work_megapixels * 1e6:
        # Crop edges change what a detector sees near them, so only large photos are cropped.
        reaches = [_with_context(face.box, settings.context) for face in faces]
        crop = _snap_out(
            (
                min(r[0] for r in reaches),
                min(r[1] for r in reaches),
                max(r[2] for r in reaches),
                max(r[3] for r in reaches),
            ),
            width,
            height,
        )
    crop_h, crop_w = crop[3] - crop[1], crop[2] - crop[0]
    if settings.region == "faces":
        masks = [face_mask(face, crop, settings.mask_growth) for face in faces]
        mask = torch.stack(masks).amax(0)
    else:
        mask = torch.ones(1, 1, crop_h, crop_w)
    boxes = [_box_in(face.box, crop) for face in faces]
    ssim_boxes = [_box_in(padded(face.box, SSIM_BOX_PADDING), crop) for face in faces]
    scale = min(1.0, math.sqrt(settings.max_work_megapixels * 1e6 / (crop_h * crop_w)))
    grid = None if scale == 1.0 else (max(2, round(crop_h * scale)), max(2, round(crop_w * scale)))
    return WorkArea(crop, mask, boxes, ssim_boxes, grid)


def _with_context(box: Sequence[float], context: float) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = box
    reach = context * max(x1 - x0, y1 - y0)
    return (x0 - reach, y0 - reach, x1 + reach, y1 + reach)


def padded(box: Sequence[float], share: float) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = box
    dx, dy = share * (x1 - x0), share * (y1 - y0)
    return (x0 - dx, y0 - dy, x1 + dx, y1 + dy)


def _box_in(box: Sequence[float], crop: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """``box`` (photo pixels) in ``crop``'s integer pixels, rounded outward, inside the crop."""
    x0, y0, x1, y1 = box
    width, height = crop[2] - crop[0], crop[3] - crop[1]
    return (
        max(0, math.floor(x0) - crop[0]),
        max(0, math.floor(y0) - crop[1]),
        min(width, math.ceil(x1) - crop[0]),
        min(height, math.ceil(y1) - crop[1]),
    )


def _snap_out(box: Sequence[float], width: int, height: int) -> tuple[int, int, int, int]:
    """Outward to the 8 px JPEG block grid, inside the photo."""
    x0, y0, x1, y1 = box
    return (
        max(0, math.floor(x0) // 8 * 8),
        max(0, math.floor(y0) // 8 * 8),
        min(width, -(-math.ceil(x1) // 8) * 8),
        min(height, -(-math.ceil(y1) // 8) * 8),
    )


def face_mask(face: Face, crop: tuple[int, int, int, int], grow: float) -> Tensor:
    """A soft-edged box: 1 over the face box grown by ``grow`` face sizes, fading to 0 over
    another quarter face size (a detector reads the head's outline, not only the face)."""
    x0, y0, x1, y1 = face.box
    size = max(x1 - x0, y1 - y0)
    inner = _with_context(face.box, grow)
    feather = max(0.25 * size, 2.0)
    cols = torch.arange(crop[0], crop[2], dtype=torch.float32) + 0.5
    rows = torch.arange(crop[1], crop[3], dtype=torch.float32) + 0.5
    fade_x = ((torch.minimum(cols - inner[0], inner[2] - cols) + feather) / feather).clamp(0, 1)
    fade_y = ((torch.minimum(rows - inner[1], inner[3] - rows) + feather) / feather).clamp(0, 1)
    return (fade_y[:, None] * fade_x[None, :])[None, None]


def near_faces(
    candidates: FaceCandidates, work: WorkArea, view_size: Sequence[int]
) -> list[Tensor]:
    """Per face, the candidates whose centre falls in its box grown by a quarter of its size
    (at least 8 view pixels): cells there can still report a box that overlaps the face."""
    crop_h, crop_w = work.mask.shape[-2:]
    scale_y, scale_x = view_size[0] / crop_h, view_size[1] / crop_w
    cx, cy = candidates.centres[:, 0], candidates.centres[:, 1]
    selections = []
    for x0, y0, x1, y1 in work.face_boxes:
        grow_x = max(0.25 * (x1 - x0) * scale_x, 8.0)
        grow_y = max(0.25 * (y1 - y0) * scale_y, 8.0)
        selections.append(
            (cx >= x0 * scale_x - grow_x)
            & (cx < x1 * scale_x + grow_x)
            & (cy >= y0 * scale_y - grow_y)
            & (cy < y1 * scale_y + grow_y)
        )
    return selections
