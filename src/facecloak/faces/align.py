"""Differentiable face alignment that reproduces ``dlib.get_face_chip``.

dlib's recognizer expects 150x150 "face chips" cut out of the photo by ``dlib.get_face_chip``.
This module computes the same chips with PyTorch operations, so that gradients of a loss on the
chips flow back to the pixels of the full-resolution photo.

Conventions (the same as dlib's):

* A pixel's centre has integer coordinates: pixel ``(row r, column c)`` sits at ``(x=c, y=r)``,
  and bilinear interpolation blends the four pixel centres around a point.
* A *chip transform* is a ``(2, 3)`` affine ``T`` mapping chip pixel ``(x, y)`` to the image point
  ``T @ (x, y, 1)``. Chip pixel ``(0, 0)`` lands on the top-left corner of dlib's rotated
  ``chip_details.rect`` and pixel ``(size - 1, size - 1)`` on its bottom-right corner.

How dlib builds a chip (``dlib/image_transforms/interpolation.h``), reproduced here:

1. ``get_face_chip_details`` fits a similarity transform (Umeyama least squares) from a padded
   mean-face template, scaled to the chip size, to the five landmarks. It stores the result as a
   rectangle centred on the image point of chip point ``(size/2, size/2)``, ``size * scale`` wide
   (in dlib's inclusive convention: ``right - left = size * scale - 1``), plus an angle. Mapping
   the rectangle's corners onto chip pixels ``0`` and ``size - 1`` therefore shifts the chip by
   half a pixel and stretches it by ``(size * scale - 1) / ((size - 1) * scale)`` relative to the
   fitted similarity itself: :func:`chip_transform` keeps dlib's version.
2. ``extract_image_chips`` crops the rotated rectangle's bounding box, grown by a margin, then, when
   the chip is much smaller than the rectangle, builds a ``pyramid_down<2>`` pyramid of the crop
   (5x5 binomial filter ``[1 4 6 4 1]/16``, every other pixel kept, ``(n - 3) // 2`` pixels out)
   and samples, bilinearly, the deepest level whose rectangle still has more pixels than the
   chip. Coordinates go down one level as ``p / 2 - (1.25, 0.75)`` (dlib's ``point_down``),
   although the filter centres level pixel ``u`` on ``2u + 2``: after ``L`` levels dlib reads
   ``(2**L - 1) / 2`` photo pixels left of and below the intended point (under half a chip
   pixel). We reproduce that too.
3. Samples whose 2x2 neighbourhood leaves the crop (or pyramid level) are black.
4. dlib works on ``uint8`` and truncates (pyramid levels by integer division, the chip by a cast);
   we work in floats and subtract the mean truncation instead (``emulate_truncation``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from facecloak.faces.chip import DEFAULT_CHIP_SIZE, DEFAULT_PADDING, chip_transform
from facecloak.faces.face import Face
from facecloak.faces.pyramid import pyramid_down
from facecloak.imaging import to_tensor

logger = logging.getLogger(__name__)

# Mean truncation of dlib's uint8 arithmetic, in units of the [0, 1] range: a pyramid level is
# ``floor(sum / 256)`` of integers (mean loss 255/512 of a level), the chip a cast of a double
# (mean loss half a level).
_PYRAMID_TRUNCATION = (255 / 512) / 255
_CAST_TRUNCATION = 0.5 / 255


@dataclass(frozen=True)
class ChipPlan:
    """Where and how one chip is sampled, following dlib's ``extract_image_chips``.

    Attributes:
        crop: ``(x0, y0, x1, y1)`` inclusive pixel box of the photo the chip needs (dlib's
            ``bounding_box``); empty (``x1 < x0`` or ``y1 < y0``) when the chip is off the photo.
        levels: how many ``pyramid_down<2>`` steps to apply to the crop before sampling (0: none).
        sampling: ``(2, 3)`` affine from chip pixels to pixels of the (downsampled) crop.
    """

    crop: tuple[int, int, int, int]
    levels: int
    sampling: np.ndarray

    @property
    def is_empty(self) -> bool:
        return self.crop[2] < self.crop[0] or self.crop[3] < self.crop[1]


def plan_chip(transform: np.ndarray, size: int, height: int, width: int) -> ChipPlan:
    """The crop, pyramid depth and sampling affine dlib would use for one chip.

    Example:
        >>> plan = plan_chip(np.array([[4.0, 0, 100], [0, 4.0, 100]]), 150, 1000, 1000)
        >>> plan.levels, plan.crop
        (1, (94, 94, 702, 702))
    """
    transform = np.asarray(transform, dtype=np.float64).reshape(2, 3)
    linear, offset = transform[:, :2], transform[:, 2]
    # Widths and heights in dlib's inclusive convention (right - left + 1) after each halving.
    span_x = float(np.hypot(*linear[:, 0])) * (size - 1)
    span_y = float(np.hypot(*linear[:, 1])) * (size - 1)
    chip_area = size * size

    levels, margin = 0, 2.0
    span_x, span_y = span_x / 2, span_y / 2
    while (span_x + 1) * (span_y + 1) > chip_area:
        span_x, span_y = span_x / 2, span_y / 2
        levels += 1
        # Each level halves the resolution; dlib keeps a 2 pixel border per level for the filter.
        margin = margin * 2 + 2

    corners = np.array([[0, 0], [size - 1, 0], [0, size - 1], [size - 1, size - 1]], dtype=float)
    photo_corners = corners @ linear.T + offset
    low = np.maximum(photo_corners.min(axis=0) - margin, 0.0)
    high = np.minimum(photo_corners.max(axis=0) + margin, [width - 1.0, height - 1.0])
    crop = (_round_half_away(low[0]), _round_half_away(low[1]))
    crop += (_round_half_away(high[0]), _round_half_away(high[1]))

    sampling = transform.copy()
    sampling[:, 2] -= crop[:2]
    for _ in range(levels):
        sampling = _point_down(sampling)
    return ChipPlan(crop=crop, levels=levels, sampling=sampling)


def chips_region(
    transforms: torch.Tensor | np.ndarray, size: int, height: int, width: int
) -> tuple[int, int, int, int]:
    """The part of an ``height`` x ``width`` photo that the chips read, ``(x0, y0, x1, y1)``.

    ``x1``/``y1`` are exclusive, like :attr:`Face.box`. Chips cut from that region with
    transforms moved by ``(-x0, -y0)`` equal the chips cut from the whole photo, so an attack can
    keep its perturbation (and its gradient) to the region instead of the full photo.

    Example:
        >>> transforms = np.array([[[2.0, 0.0, 300.0], [0.0, 2.0, 200.0]]])
        >>> x0, y0, x1, y1 = chips_region(transforms, 150, 600, 800)
        >>> (x0, y0, x1, y1)
        (298, 198, 601, 501)
        >>> photo, moved = torch.rand(3, 600, 800), transforms.copy()
        >>> moved[:, :, 2] -= (x0, y0)
        >>> chips = extract_chips(photo, transforms)
        >>> torch.equal(extract_chips(photo[:, y0:y1, x0:x1], moved), chips)
        True
    """
    plans = [plan_chip(matrix, size, height, width) for matrix in _as_numpy_transforms(transforms)]
    boxes = np.array([plan.crop for plan in plans if not plan.is_empty]).reshape(-1, 4)
    if len(boxes) == 0:
        return (0, 0, 0, 0)
    x0, y0 = boxes[:, :2].min(axis=0)
    x1, y1 = boxes[:, 2:].max(axis=0) + 1
    return (int(x0), int(y0), int(x1), int(y1))


def extract_chips(
    image: torch.Tensor,
    transforms: torch.Tensor | np.ndarray,
    size: int = DEFAULT_CHIP_SIZE,
    *,
    emulate_truncation: bool = True,
) -> torch.Tensor:
    """Cut ``size`` x ``size`` chips out of ``image``, differentiably, as dlib does.

    Only the region around each chip is cropped, downsampled (dlib's ``pyramid_down<2>`` when
    the chip is much smaller than the region, which anti-aliases large faces) and sampled
    bilinearly, so large photos cost little; gradients flow back to the original pixels.

    Args:
        image: ``(3, H, W)`` or ``(1, 3, H, W)`` float RGB in ``[0, 1]``.
        transforms: ``(F, 2, 3)`` chip-to-photo affines from :func:`chip_transform` (constants:
            no gradient flows to them).
        size: chip width and height; must match the ``size`` the transforms were made for.
        emulate_truncation: subtract the mean rounding-down of dlib's ``uint8`` arithmetic, so
            chips match ``dlib.get_face_chip`` on average (values may dip ~1/255 below 0).

    Returns:
        ``(F, 3, size, size)`` chips with the image's dtype and device.

    Example:
        >>> photo = torch.rand(3, 600, 800, requires_grad=True)
        >>> transform = np.array([[[2.0, 0.0, 300.0], [0.0, 2.0, 200.0]]])
        >>> chips = extract_chips(photo, transform)
        >>> chips.shape
        torch.Size([1, 3, 150, 150])
        >>> chips.sum().backward()
        >>> bool(photo.grad[:, :150].abs().sum() == 0)
        True
    """
    batched = _as_batched_image(image)
    height, width = batched.shape[-2:]
    matrices = _as_numpy_transforms(transforms)
    plans = [plan_chip(matrix, size, height, width) for matrix in matrices]
    for plan in plans:
        logger.debug("chip plan: crop %s, %d pyramid levels", plan.crop, plan.levels)
    if not plans:
        return batched.new_zeros((0, batched.shape[1], size, size))
    boxes = tuple(plan.crop for plan in plans if not plan.is_empty)
    regions = iter(_CropRegions.apply(batched, boxes) if boxes else ())
    chips = [
        batched.new_zeros((1, batched.shape[1], size, size))
        if plan.is_empty
        else _chip_from_region(next(regions), plan, size, emulate_truncation)
        for plan in plans
    ]
    return torch.cat(chips, dim=0)


def face_chips(
    image: torch.Tensor | np.ndarray,
    faces: Sequence[Face],
    size: int = DEFAULT_CHIP_SIZE,
    padding: float = DEFAULT_PADDING,
    *,
    emulate_truncation: bool = True,
) -> torch.Tensor:
    """The dlib-aligned chip of every face, ``(F, 3, size, size)``.

    ``image`` is a ``(3, H, W)``/``(1, 3, H, W)`` float tensor in ``[0, 1]`` (differentiable) or an
    ``(H, W, 3)`` ``uint8`` array. Every face needs its 5 ``landmarks``.

    Example:
        >>> from skimage.data import astronaut
        >>> landmarks = np.array([[244, 117], [228, 118], [194, 112], [210, 115], [220, 145.0]])
        >>> face = Face(box=(175, 76, 266, 167), score=1.0, landmarks=landmarks)
        >>> face_chips(astronaut(), [face]).shape
        torch.Size([1, 3, 150, 150])
    """
    tensor = to_tensor(image) if isinstance(image, np.ndarray) else image
    missing = [i for i, face in enumerate(faces) if face.landmarks is None]
    if missing:
        raise ValueError(f"faces {missing} have no landmarks: predict them before aligning")
    transforms = (
        np.stack([chip_transform(f.landmarks, size, padding) for f in faces])
        if faces
        else np.zeros((0, 2, 3))
    )
    return extract_chips(tensor, transforms, size, emulate_truncation=emulate_truncation)


class _CropRegions(torch.autograd.Function):
    """Copies of several boxes of an image; the backward pass fills one full-size gradient.

    Plain slicing would allocate and zero a full-size gradient per box (two per box, one per
    sliced dimension), which dominates the cost of a backward pass on a large photo.
    """

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: torch.autograd.function.FunctionCtx,
        image: torch.Tensor,
        boxes: tuple[tuple[int, int, int, int], ...],
    ) -> tuple[torch.Tensor, ...]:
        ctx.boxes = boxes
        ctx.image_shape = image.shape
        return tuple(
            image[..., y0 : y1 + 1, x0 : x1 + 1].clone(memory_format=torch.contiguous_format)
            for x0, y0, x1, y1 in boxes
        )

    @staticmethod
    def backward(  # type: ignore[override]
        ctx: torch.autograd.function.FunctionCtx, *region_grads: torch.Tensor
    ) -> tuple[torch.Tensor, None]:
        image_grad = region_grads[0].new_zeros(ctx.image_shape)
        for (x0, y0, x1, y1), grad in zip(ctx.boxes, region_grads, strict=True):
            image_grad[..., y0 : y1 + 1, x0 : x1 + 1] += grad
        return image_grad, None


def _chip_from_region(
    region: torch.Tensor, plan: ChipPlan, size: int, emulate_truncation: bool
) -> torch.Tensor:
    """Downsample the cropped region as planned, then sample the chip from it."""
    for _ in range(plan.levels):
        if min(region.shape[-2:]) <= 8:
            # dlib's pyramid gives up on images this small and leaves an empty (black) level.
            return region.new_zeros((1, region.shape[1], size, size))
        region = pyramid_down(region)
    chip, inside = _sample_bilinear(region, plan.sampling, size)
    if emulate_truncation:
        chip = chip - (_PYRAMID_TRUNCATION * plan.levels + _CAST_TRUNCATION)
    return chip * inside


def _sample_bilinear(
    image: torch.Tensor, sampling: np.ndarray, size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample ``image`` at ``sampling @ (x, y, 1)`` for every chip pixel; also dlib's valid mask."""
    height, width = image.shape[-2:]
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64)
    px = sampling[0, 0] * xs + sampling[0, 1] * ys + sampling[0, 2]
    py = sampling[1, 0] * xs + sampling[1, 1] * ys + sampling[1, 2]
    # dlib's interpolate_bilinear needs both neighbours inside, else it writes black.
    inside = (px >= 0) & (px < width - 1) & (py >= 0) & (py < height - 1)
    # align_corners=True puts -1 and 1 on the centres of the first and last pixels.
    grid = np.stack([2 * px / max(width - 1, 1) - 1, 2 * py / max(height - 1, 1) - 1], axis=-1)
    grid_t = torch.from_numpy(grid).to(device=image.device, dtype=image.dtype).unsqueeze(0)
    chip = F.grid_sample(image, grid_t, mode="bilinear", padding_mode="zeros", align_corners=True)
    mask = torch.from_numpy(inside).to(device=image.device, dtype=image.dtype)
    return chip, mask


def _point_down(affine: np.ndarray) -> np.ndarray:
    """Compose an affine with dlib's ``pyramid_down<2>::point_down``: ``p / 2 - (1.25, 0.75)``."""
    down = affine / 2.0
    down[:, 2] -= (1.25, 0.75)
    return down


def _round_half_away(value: float) -> int:
    """``std::lround``: halves round away from zero (Python's ``round`` goes to even)."""
    return int(math.copysign(math.floor(abs(value) + 0.5), value))


def _as_batched_image(image: torch.Tensor) -> torch.Tensor:
    if image.dim() == 3:
        image = image.unsqueeze(0)
    if image.dim() != 4 or image.shape[0] != 1:
        raise ValueError(f"expected a (3, H, W) or (1, 3, H, W) image, got {tuple(image.shape)}")
    if not image.is_floating_point():
        raise TypeError(f"expected a float image in [0, 1], got {image.dtype}: see to_tensor()")
    return image


def _as_numpy_transforms(transforms: torch.Tensor | np.ndarray) -> np.ndarray:
    if isinstance(transforms, torch.Tensor):
        transforms = transforms.detach().cpu().numpy()
    matrices = np.asarray(transforms, dtype=np.float64)
    if matrices.ndim == 2:
        matrices = matrices[None]
    if matrices.ndim != 3 or matrices.shape[1:] not in ((2, 3), (3, 3)):
        raise ValueError(f"expected (F, 2, 3) chip transforms, got {matrices.shape}")
    return matrices[:, :2, :]
