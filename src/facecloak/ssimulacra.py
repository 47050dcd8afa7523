"""SSIMULACRA2 as a differentiable torch function, so an optimiser can be held to what people see.

SSIMULACRA2 (libjxl) compares two images in the XYB colour space of the eye's cones, over six
scales (each half the last, averaged in linear light): per channel, a structural map (1 - SSIM
without the luminance-contrast split) and two edge maps (edges the change added: ringing,
blotches; edges it removed: blur), each pooled by its mean and its 4-norm. A learned weighted sum
of those 108 numbers goes through a fixed polynomial to a score: 100 for identical images, 90
visually lossless, 70 high quality, 50 medium, 30 low. The weights and colour constants are read
from the reference Python package (PyPI ``ssimulacra2``), so this stays the same metric;
:func:`facecloak.quality.ssimulacra2_score` (that package's score on 8-bit images, computed by
:mod:`facecloak.ssimulacra_score`) is the judge and this function agrees with it to a fraction
of a point (see the tests).

Example:
    >>> import torch
    >>> clean = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    >>> float(ssimulacra2(clean, clean))
    100.0
    >>> bool(ssimulacra2(clean, (clean + 0.05).clamp(0, 1)) < 100)
    True
"""

from __future__ import annotations

from collections.abc import Collection
from functools import cache

import torch
import torch.nn.functional as F
from torch import Tensor

from facecloak.ssimulacra_score import (
    BLUR_RADIUS,
    FINAL_CUBIC,
    FINAL_POWER,
    FINAL_SCALE,
    SCALES,
    blur_kernel,
    maps_read,
    reference_constants,
)

Box = tuple[int, int, int, int]


@cache
def _constants() -> tuple[Tensor, Tensor, float, Tensor]:
    """Opsin matrix (3x3), its bias (3), the SSIM constant and the 108 weights, as tensors."""
    matrix, bias, c2, weights = reference_constants()
    return torch.from_numpy(matrix), torch.from_numpy(bias), c2, torch.from_numpy(weights)


class _Power(torch.autograd.Function):
    """``base ** exponent`` for a positive ``base``, differentiated from its output (``exponent
    * out / base``): one power per call where autograd's own takes a second one backward (powers
    are a sixth of the metric's cost on a large face)."""

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, base: Tensor, exponent: float) -> Tensor:
        out = base.pow(exponent)
        ctx.save_for_backward(base, out)
        ctx.exponent = exponent  # type: ignore[attr-defined]
        return out

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: Tensor) -> tuple[Tensor, None]:
        base, out = ctx.saved_tensors  # type: ignore[attr-defined]
        return grad * (ctx.exponent * out / base), None  # type: ignore[attr-defined]


def _power(base: Tensor, exponent: float) -> Tensor:
    return _Power.apply(base, exponent) if base.requires_grad else base.pow(exponent)


def _linear(srgb: Tensor) -> Tensor:
    low = srgb / 12.92
    high = _power((srgb.clamp(min=0.04045) + 0.055) / 1.055, 2.4)
    return torch.where(srgb <= 0.04045, low, high)


def _xyb(linear: Tensor) -> Tensor:
    """Linear RGB ``(n, 3, h, w)`` to the positive XYB planes SSIMULACRA2 compares."""
    matrix, bias, _, _ = _constants()
    offset = bias.to(linear.dtype)[None, :, None, None]
    mixed = torch.einsum("oc,nchw->nohw", matrix.to(linear.dtype), linear) + offset
    cone = _power(mixed.clamp(min=1e-12), 1 / 3) - offset ** (1 / 3)
    x = 0.5 * (cone[:, 0] - cone[:, 1])
    y = 0.5 * (cone[:, 0] + cone[:, 1])
    return torch.stack([x * 14.0 + 0.42, y + 0.01, cone[:, 2] - y + 0.55], dim=1)


@cache
def _kernel(dtype: torch.dtype) -> Tensor:
    return torch.from_numpy(blur_kernel()).to(dtype)


def _blur(planes: Tensor) -> Tensor:
    """Separable Gaussian: zeros beyond the left and right edges, mirrored (edge pixel repeated)
    beyond the top and bottom, as the reference package does (it blurs the transposed image)."""
    channels = planes.shape[1]
    kernel = _kernel(planes.dtype)
    r = BLUR_RADIUS
    height = planes.shape[-2]
    top = planes[..., : min(r, height), :].flip(-2)
    bottom = planes[..., max(0, height - r) :, :].flip(-2)
    padded = torch.cat([top, planes, bottom], dim=-2)
    if padded.shape[-2] < height + 2 * r:  # shorter than the kernel: repeat the mirrored edges
        padded = F.pad(padded, (0, 0, 0, height + 2 * r - padded.shape[-2]), mode="replicate")
    columns = F.conv2d(padded, kernel.view(1, 1, -1, 1).repeat(channels, 1, 1, 1), groups=channels)
    rows = kernel.view(1, 1, 1, -1).repeat(channels, 1, 1, 1)
    return F.conv2d(columns, rows, padding=(0, r), groups=channels)


def _pooled(values: Tensor, count: int) -> tuple[Tensor, Tensor]:
    """Per image and channel: the mean and the 4-norm mean of a non-negative map, over ``count``
    pixels (the map's own, or more when the map is the part of a larger one outside which it is
    zero)."""
    square = values * values
    fourth = (square * square).sum((-2, -1)) / count
    norm = torch.where(fourth > 0, fourth.clamp(min=1e-30) ** 0.25, torch.zeros_like(fourth))
    return values.sum((-2, -1)) / count, norm


def _clean_statistics(first: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """One scale of the original: its XYB planes, their local mean and local variance."""
    mu1 = _blur(first)
    return first, mu1, _blur(first * first) - mu1 * mu1


def _scale_terms(
    clean: tuple[Tensor, Tensor, Tensor],
    second: Tensor,
    count: int,
    read: tuple[tuple[bool, bool, bool], ...],
) -> Tensor:
    """``(n, 3, 6)``: per channel, the structural map's mean and 4-norm, then the added edges'
    and the removed edges' mean and 4-norm (over ``count`` pixels: see :func:`_pooled`), in the
    order the reference weighs them. Maps that ``read`` (per channel: structure, added,
    removed; see :func:`facecloak.ssimulacra_score.maps_read`) leaves out are zero, not computed."""
    first, mu1, var1 = clean
    structural = [c for c in range(3) if read[c][0]]
    edges_only = [c for c in range(3) if not read[c][0] and (read[c][1] or read[c][2])]
    moments = _blurred_moments(first, second, structural, edges_only)
    zero = second.new_zeros(second.shape[0])
    changed_planes = second.split(1, dim=1)
    channels = []
    for channel, maps in enumerate(read):
        c = slice(channel, channel + 1)
        sides = (first[:, c], mu1[:, c], var1[:, c], changed_planes[channel])
        terms = (
            _channel_terms(sides, moments[channel], maps, count, zero)
            if channel in moments
            else [zero] * 6
        )
        channels.append(torch.stack([t.reshape(-1) for t in terms], dim=-1))
    return torch.stack(channels, dim=1)


def _channel_terms(
    sides: tuple[Tensor, Tensor, Tensor, Tensor],
    moments: tuple[Tensor, Tensor | None, Tensor | None],
    maps: tuple[bool, bool, bool],
    count: int,
    zero: Tensor,
) -> list[Tensor]:
    """One channel's six terms (structure, added, removed; means then 4-norms), ``zero`` for
    the ``maps`` not read: ``sides`` is the original, its local mean and variance, and the
    changed image."""
    terms = [zero] * 6
    first, mu1, var1, second = sides
    mu2, second_sq, product = moments
    structure_read, added_read, removed_read = maps
    if structure_read and second_sq is not None and product is not None:
        var2 = second_sq - mu2 * mu2
        cov = product - mu1 * mu2
        c2 = _constants()[2]
        difference = mu1 - mu2
        structure = 1 - (1 - difference * difference) * (2 * cov + c2) / (var1 + var2 + c2)
        terms[0], terms[3] = _pooled(structure.clamp(min=0), count)
    if added_read or removed_read:
        ratio = (1 + (second - mu2).abs()) / (1 + (first - mu1).abs()) - 1
        if added_read:
            terms[1], terms[4] = _pooled(ratio.clamp(min=0), count)
        if removed_read:
            terms[2], terms[5] = _pooled((-ratio).clamp(min=0), count)
    return terms


def _blurred_moments(
    first: Tensor, second: Tensor, structural: list[int], edges_only: list[int]
) -> dict[int, tuple[Tensor, Tensor | None, Tensor | None]]:
    """Channel -> the changed image's local mean and, for the ``structural`` channels, the local
    means of its square and of its product with the original (``(n, 1, h, w)`` each), in one
    blur over just those planes."""
    chosen = second[:, structural]  # an indexed copy: made once
    planes = [chosen, chosen * chosen, first[:, structural] * chosen, second[:, edges_only]]
    # split, not one slice per plane: its backward is one concatenation, not a zero-filled
    # copy of the whole stack per plane
    blurred = _blur(torch.cat(planes, dim=1)).split(1, dim=1)
    count = len(structural)
    moments: dict[int, tuple[Tensor, Tensor | None, Tensor | None]] = {}
    for k, channel in enumerate(structural):
        moments[channel] = (blurred[k], blurred[count + k], blurred[2 * count + k])
    for k, channel in enumerate(edges_only):
        moments[channel] = (blurred[3 * count + k], None, None)
    return moments


class Ssimulacra2Reference:
    """SSIMULACRA2 against one fixed original (``(n, 3, h, w)`` sRGB in [0, 1], at least 8x8):
    the original's side of every scale is computed once, so scoring many changed versions of it
    (an optimiser's steps) costs about half as much per call as :func:`ssimulacra2`.
    ``torch.float32`` costs a third less again and stays within about 0.05 points of float64
    (the reference's precision), enough for an optimiser's hinge; a verdict should keep float64.

    ``within``, an ``(x0, y0, x1, y1)`` box: the changed versions differ from the original only
    there (pixels outside it are not read). Every map the score pools is zero where the two
    images agree over the blur's reach, so each scale is computed on the box grown by twice
    that reach and pooled as if over the whole image: the same score, at the cost of the box
    (a face in the middle of its judged window is a fifth of it).

    >>> clean = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    >>> score = Ssimulacra2Reference(clean)
    >>> float(score(clean)), bool(score((clean + 0.05).clamp(0, 1)) < 100)
    (100.0, True)
    >>> changed = clean.clone(); changed[..., 10:14, 12:20] += 0.1
    >>> inside = Ssimulacra2Reference(clean, within=(12, 10, 20, 14))
    >>> round(float(inside(changed)), 4) == round(float(score(changed)), 4)
    True
    """

    def __init__(
        self, original: Tensor, dtype: torch.dtype = torch.float64, within: Box | None = None
    ) -> None:
        if original.dim() != 4 or original.shape[1] != 3:
            raise ValueError(f"need an (n, 3, h, w) image, got {tuple(original.shape)}")
        if min(original.shape[-2:]) < 8:
            raise ValueError(
                f"SSIMULACRA2 needs at least 8x8 pixels, got {tuple(original.shape[-2:])}"
            )
        self.shape, self.dtype = tuple(original.shape), dtype
        self.levels = _pyramid(original, dtype)
        self.changed = _changed_boxes(self.levels, within)
        self.scored = [
            _grown(box, 2 * BLUR_RADIUS + 1, level)
            for box, level in zip(self.changed, self.levels, strict=True)
        ]
        self.scales = [
            _clean_statistics(_xyb(_cut(level, box)))
            for level, box in zip(self.levels, self.scored, strict=True)
        ]

    def __call__(self, changed: Tensor) -> Tensor:
        """The score of ``changed`` (the original's shape), one per image, differentiable."""
        return score_of_terms(self.terms(changed))

    def terms(self, changed: Tensor, skipped: Collection[int] = ()) -> Tensor:
        """The ``(n, channel, scale, 6)`` pooled maps the score weighs (see
        :func:`score_of_terms`), zero and not computed for the ``skipped`` scales."""
        if tuple(changed.shape) != self.shape:
            raise ValueError(
                f"need an image of the original's shape {self.shape}, got {tuple(changed.shape)}"
            )
        part = _linear(_cut(changed, self.changed[0]).to(self.dtype))
        terms = []
        reads = maps_read(len(self.levels))
        for scale, (clean, level) in enumerate(zip(self.scales, self.levels, strict=True)):
            if scale > 0:
                part = self._halved(part, scale)
            if scale in skipped:
                terms.append(part.new_zeros(part.shape[0], 3, 6))
                continue
            patch = _pasted(level, self.scored[scale], part, self.changed[scale])
            count = level.shape[-2] * level.shape[-1]
            terms.append(_scale_terms(clean, _xyb(patch), count, reads[scale]))
        return torch.stack(terms, dim=2)

    def _halved(self, part: Tensor, scale: int) -> Tensor:
        """The changed image's linear light on ``changed[scale]``, from ``part`` (the one
        scale finer, on ``changed[scale - 1]``)."""
        finer = self.levels[scale - 1]
        x0, y0, x1, y1 = self.changed[scale]
        blocks = (2 * x0, 2 * y0, min(2 * x1, finer.shape[-1]), min(2 * y1, finer.shape[-2]))
        patch = _pasted(finer, blocks, part, self.changed[scale - 1])
        return F.avg_pool2d(patch, 2, ceil_mode=True, count_include_pad=False)


def _changed_boxes(levels: list[Tensor], within: Box | None) -> list[Box]:
    """Per scale, the box that holds every pixel ``within`` reaches (whole levels without it)."""
    height, width = levels[0].shape[-2:]
    x0, y0, x1, y1 = _clipped(within or (0, 0, width, height), levels[0])
    if x1 <= x0 or y1 <= y0:
        x0, y0, x1, y1 = 0, 0, 1, 1  # nothing may change: any box will do
    boxes = [(x0, y0, x1, y1)]
    for level in levels[1:]:
        x0, y0, x1, y1 = boxes[-1]
        boxes.append(_clipped((x0 // 2, y0 // 2, -(-x1 // 2), -(-y1 // 2)), level))
    return boxes


def _grown(box: Box, margin: int, level: Tensor) -> Box:
    x0, y0, x1, y1 = box
    return _clipped((x0 - margin, y0 - margin, x1 + margin, y1 + margin), level)


def _clipped(box: Box, level: Tensor) -> Box:
    x0, y0, x1, y1 = box
    height, width = level.shape[-2:]
    return max(0, x0), max(0, y0), min(width, x1), min(height, y1)


def _cut(image: Tensor, box: Box) -> Tensor:
    x0, y0, x1, y1 = box
    return image[..., y0:y1, x0:x1]


def _pasted(level: Tensor, outer: Box, part: Tensor, inner: Box) -> Tensor:
    """``level`` cut to ``outer`` with ``part`` in place of its ``inner`` box (both boxes in
    ``level``'s pixels, ``inner`` inside ``outer``)."""
    if outer == inner:
        return part
    ox0, oy0 = outer[:2]
    x0, y0, x1, y1 = inner
    patch = _cut(level, outer).clone()
    patch[..., y0 - oy0 : y1 - oy0, x0 - ox0 : x1 - ox0] = part
    return patch


def _pyramid(srgb: Tensor, dtype: torch.dtype) -> list[Tensor]:
    """Linear light at each scale the metric compares (each half the last, at least 8x8)."""
    linear = _linear(srgb.to(dtype))
    levels = []
    for scale in range(SCALES):
        if min(linear.shape[-2:]) < 8:
            break
        levels.append(linear)
        if scale < SCALES - 1:
            linear = F.avg_pool2d(linear, 2, ceil_mode=True, count_include_pad=False)
    return levels


def _weighted(stacked: Tensor) -> Tensor:
    """Each of the ``(n, channel, scale, 6)`` terms times its weight."""
    # The reference walks channel, then scale, then norm, then the three maps.
    weights = _constants()[3][: stacked[0].numel()].to(stacked.dtype)
    return stacked.abs() * weights.view(stacked.shape[1:])


def scale_shares(stacked: Tensor) -> Tensor:
    """``(n, scale)``: each scale's share of the weighted sum behind the score of the ``(n,
    channel, scale, 6)`` terms (:meth:`Ssimulacra2Reference.terms`); zeros for identical images.

    >>> clean = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    >>> shares = scale_shares(Ssimulacra2Reference(clean).terms((clean + 0.05).clamp(0, 1)))
    >>> shares.shape, round(float(shares.sum()), 6)
    (torch.Size([1, 4]), 1.0)
    """
    per_scale = _weighted(stacked).sum((1, 3))
    return per_scale / per_scale.sum(1, keepdim=True).clamp(min=1e-30)


def weighted_sum(stacked: Tensor) -> Tensor:
    """``(n,)``: the weighted sum of the ``(n, channel, scale, 6)`` terms
    (:meth:`Ssimulacra2Reference.terms`) that the score maps to 0-100: 0 for identical images,
    growing with the change."""
    return _weighted(stacked).flatten(1).sum(1)


def score_of_terms(stacked: Tensor) -> Tensor:
    """The 0-100 score of the ``(n, channel, scale, 6)`` terms (:meth:`Ssimulacra2Reference.terms`):
    their weighted sum through the reference's final mapping."""
    total = weighted_sum(stacked) * FINAL_SCALE
    total = FINAL_CUBIC[0] * total + FINAL_CUBIC[1] * total**2 + FINAL_CUBIC[2] * total**3
    positive = total.clamp(min=1e-12)
    return torch.where(total > 0, 100 - 10 * positive**FINAL_POWER, torch.full_like(total, 100.0))


def ssimulacra2(original: Tensor, changed: Tensor) -> Tensor:
    """The SSIMULACRA2 score of ``changed`` against ``original`` (``(n, 3, h, w)`` sRGB in
    [0, 1], at least 8x8), one per image, differentiable in both."""
    if original.shape != changed.shape or original.dim() != 4 or original.shape[1] != 3:
        raise ValueError(f"need two (n, 3, h, w) images of one shape, got {tuple(original.shape)}")
    return Ssimulacra2Reference(original)(changed)
