"""SSIMULACRA2 as a differentiable torch function, so an optimiser can be held to what people see.

SSIMULACRA2 (libjxl) compares two images in the XYB colour space of the eye's cones, over six
scales (each half the last, averaged in linear light): per channel, a structural map (1 - SSIM
without the luminance-contrast split) and two edge maps (edges the change added: ringing,
blotches; edges it removed: blur), each pooled by its mean and its 4-norm. A learned weighted sum
of those 108 numbers goes through a fixed polynomial to a score: 100 for identical images, 90
visually lossless, 70 high quality, 50 medium, 30 low. The weights and colour constants are read
from the reference Python package (PyPI ``ssimulacra2``), so this stays the same metric;
:func:`facecloak.quality.ssimulacra2_score` (that package, on 8-bit images) is the judge and this
function agrees with it to a fraction of a point (see the tests).

Example:
    >>> import torch
    >>> clean = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    >>> float(ssimulacra2(clean, clean))
    100.0
    >>> bool(ssimulacra2(clean, (clean + 0.05).clamp(0, 1)) < 100)
    True
"""

from __future__ import annotations

from functools import cache

import torch
import torch.nn.functional as F
from torch import Tensor

SCALES = 6
BLUR_SIGMA = 1.5
BLUR_RADIUS = 5
"""The reference's Gaussian: sigma 1.5, cut at 5 pixels each way."""
# The score's final mapping (libjxl's ssimulacra2.cc): a scale, a cubic, then a power law.
_SCALE = 0.9562382616834844
_CUBIC = (2.326765642916932, -0.020884521182843837, 6.248496625763138e-05)
_POWER = 0.6276336467831387


@cache
def _constants() -> tuple[Tensor, Tensor, float, Tensor]:
    """Opsin matrix (3x3), its bias (3), the SSIM constant and the 108 weights."""
    from ssimulacra2 import ssimulacra2 as reference

    matrix = torch.as_tensor(reference.kOpsinAbsorbanceMatrix, dtype=torch.float64).reshape(3, 3)
    bias = torch.as_tensor(reference.kOpsinAbsorbanceBias, dtype=torch.float64)
    weights = torch.as_tensor(reference.weights, dtype=torch.float64)
    return matrix, bias, float(reference.kC2), weights


def _linear(srgb: Tensor) -> Tensor:
    low = srgb / 12.92
    high = ((srgb.clamp(min=0.04045) + 0.055) / 1.055) ** 2.4
    return torch.where(srgb <= 0.04045, low, high)


def _xyb(linear: Tensor) -> Tensor:
    """Linear RGB ``(n, 3, h, w)`` to the positive XYB planes SSIMULACRA2 compares."""
    matrix, bias, _, _ = _constants()
    mixed = torch.einsum("oc,nchw->nohw", matrix.to(linear.dtype), linear)
    mixed = mixed + bias.to(linear.dtype)[None, :, None, None]
    cone = mixed.clamp(min=1e-12) ** (1 / 3) - bias.to(linear.dtype)[None, :, None, None] ** (1 / 3)
    x = 0.5 * (cone[:, 0] - cone[:, 1])
    y = 0.5 * (cone[:, 0] + cone[:, 1])
    return torch.stack([x * 14.0 + 0.42, y + 0.01, cone[:, 2] - y + 0.55], dim=1)


@cache
def _kernel() -> Tensor:
    taps = torch.arange(-BLUR_RADIUS, BLUR_RADIUS + 1, dtype=torch.float64)
    kernel = torch.exp(-(taps**2) / (2 * BLUR_SIGMA**2))
    return kernel / kernel.sum()


def _blur(planes: Tensor) -> Tensor:
    """Separable Gaussian: zeros beyond the left and right edges, mirrored (edge pixel repeated)
    beyond the top and bottom, as the reference package does (it blurs the transposed image)."""
    channels = planes.shape[1]
    kernel = _kernel().to(planes.dtype)
    r = BLUR_RADIUS
    height = planes.shape[-2]
    top = planes[..., : min(r, height), :].flip(-2)
    bottom = planes[..., max(0, height - r) :, :].flip(-2)
    padded = torch.cat([top, planes, bottom], dim=-2)
    if padded.shape[-2] < height + 2 * r:  # shorter than the kernel: repeat the mirrored edges
        padded = F.pad(padded, (0, 0, 0, height + 2 * r - padded.shape[-2]), mode="replicate")
    columns = F.conv2d(padded, kernel.view(1, 1, -1, 1).repeat(channels, 1, 1, 1), groups=channels)
    columns = F.pad(columns, (r, r, 0, 0))
    return F.conv2d(columns, kernel.view(1, 1, 1, -1).repeat(channels, 1, 1, 1), groups=channels)


def _pooled(values: Tensor) -> tuple[Tensor, Tensor]:
    """Per image and channel: the mean and the 4-norm mean of a non-negative map."""
    fourth = (values**4).mean((-2, -1))
    norm = torch.where(fourth > 0, fourth.clamp(min=1e-30) ** 0.25, torch.zeros_like(fourth))
    return values.mean((-2, -1)), norm


def _clean_statistics(first: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """One scale of the original: its XYB planes, their local mean and local variance."""
    mu1 = _blur(first)
    return first, mu1, _blur(first * first) - mu1 * mu1


def _scale_terms(clean: tuple[Tensor, Tensor, Tensor], second: Tensor) -> Tensor:
    """``(n, 3, 6)``: per channel, the structural map's mean and 4-norm, then the added edges'
    and the removed edges' mean and 4-norm, in the order the reference weighs them."""
    _, _, c2, _ = _constants()
    first, mu1, var1 = clean
    blurred = _blur(torch.cat([second, second * second, first * second], dim=1))
    mu2, second_sq, product = blurred.split(second.shape[1], dim=1)
    var2 = second_sq - mu2 * mu2
    cov = product - mu1 * mu2
    structure = 1 - (1 - (mu1 - mu2) ** 2) * (2 * cov + c2) / (var1 + var2 + c2)
    s_mean, s_norm = _pooled(structure.clamp(min=0))
    ratio = (1 + (second - mu2).abs()) / (1 + (first - mu1).abs()) - 1
    a_mean, a_norm = _pooled(ratio.clamp(min=0))
    d_mean, d_norm = _pooled((-ratio).clamp(min=0))
    # Per norm n (mean, 4-norm): structure, added edges, removed edges.
    return torch.stack([s_mean, a_mean, d_mean, s_norm, a_norm, d_norm], dim=-1)


class Ssimulacra2Reference:
    """SSIMULACRA2 against one fixed original (``(n, 3, h, w)`` sRGB in [0, 1], at least 8x8):
    the original's side of every scale is computed once, so scoring many changed versions of it
    (an optimiser's steps) costs about half as much per call as :func:`ssimulacra2`.
    ``torch.float32`` costs a third less again and stays within about 0.05 points of float64
    (the reference's precision), enough for an optimiser's hinge; a verdict should keep float64.

    >>> clean = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    >>> score = Ssimulacra2Reference(clean)
    >>> float(score(clean)), bool(score((clean + 0.05).clamp(0, 1)) < 100)
    (100.0, True)
    """

    def __init__(self, original: Tensor, dtype: torch.dtype = torch.float64) -> None:
        if original.dim() != 4 or original.shape[1] != 3:
            raise ValueError(f"need an (n, 3, h, w) image, got {tuple(original.shape)}")
        if min(original.shape[-2:]) < 8:
            raise ValueError(
                f"SSIMULACRA2 needs at least 8x8 pixels, got {tuple(original.shape[-2:])}"
            )
        self.shape, self.dtype = tuple(original.shape), dtype
        self.scales = [_clean_statistics(_xyb(linear)) for linear in _pyramid(original, dtype)]

    def __call__(self, changed: Tensor) -> Tensor:
        """The score of ``changed`` (the original's shape), one per image, differentiable."""
        if tuple(changed.shape) != self.shape:
            raise ValueError(
                f"need an image of the original's shape {self.shape}, got {tuple(changed.shape)}"
            )
        terms = [
            _scale_terms(clean, _xyb(linear))
            for clean, linear in zip(self.scales, _pyramid(changed, self.dtype), strict=True)
        ]
        return _score(torch.stack(terms, dim=2))  # (n, channel, scale, 6)


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


def _score(stacked: Tensor) -> Tensor:
    """The weighted sum of the ``(n, channel, scale, 6)`` terms mapped to the 0-100 score."""
    # The reference walks channel, then scale, then norm, then the three maps.
    flat = stacked.flatten(1)
    weights = _constants()[3][: flat.shape[1]].to(flat.dtype)
    total = (flat.abs() * weights).sum(1) * _SCALE
    total = _CUBIC[0] * total + _CUBIC[1] * total**2 + _CUBIC[2] * total**3
    positive = total.clamp(min=1e-12)
    return torch.where(total > 0, 100 - 10 * positive**_POWER, torch.full_like(total, 100.0))


def ssimulacra2(original: Tensor, changed: Tensor) -> Tensor:
    """The SSIMULACRA2 score of ``changed`` against ``original`` (``(n, 3, h, w)`` sRGB in
    [0, 1], at least 8x8), one per image, differentiable in both."""
    if original.shape != changed.shape or original.dim() != 4 or original.shape[1] != 3:
        raise ValueError(f"need two (n, 3, h, w) images of one shape, got {tuple(original.shape)}")
    return Ssimulacra2Reference(original)(changed)
