"""SSIM in torch, differentiable: what the optimisers hold a floor on.

The same Gaussian-window SSIM as :func:`facecloak.quality.ssim` (which reports use, in NumPy),
with an optional stride for cheap estimates on large regions.

Example:
    >>> a = torch.rand(1, 3, 20, 20, dtype=torch.float64)
    >>> round(float(differentiable_ssim(a, a)), 6)
    1.0
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from facecloak.quality import SSIM_C1, SSIM_C2, SSIM_SIGMA, SSIM_WINDOW, largest_odd_at_most


def differentiable_ssim(
    a: Tensor,
    b: Tensor,
    window: int = SSIM_WINDOW,
    stride: int = 1,
    offset: tuple[int, int] = (0, 0),
    eps: float = 0.0,
) -> Tensor:
    """Mean SSIM of two ``(1, C, H, W)`` images in [0, 1], differentiable in both.

    Gaussian window, sigma 1.5, ``valid`` padding, computed with a separable filter. With
    ``stride > 1`` only every ``stride``-th window (from ``offset``) is averaged: an estimate
    that costs about ``stride`` times less on large face regions, and still touches every pixel
    when ``stride < window``. ``eps`` is added to the denominator (it moves dark flat regions by
    up to about 1e-5; :data:`facecloak.quality.SSIM_EPS` gives the reports' value).

    Example:
        >>> a = torch.rand(1, 3, 20, 20, dtype=torch.float64, requires_grad=True)
        >>> value = differentiable_ssim(a, a.detach().flip(-1))
        >>> value.backward(); a.grad.shape
        torch.Size([1, 3, 20, 20])
    """
    if stride > 1:
        a, b = a[..., offset[0] :, offset[1] :], b[..., offset[0] :, offset[1] :]
    window = min(window, largest_odd_at_most(min(a.shape[-2:])))
    mu_a, mu_b, var_a, var_b, cov = _local_moments(a, b, window, stride)
    numerator = (2 * mu_a * mu_b + SSIM_C1) * (2 * cov + SSIM_C2)
    denominator = (mu_a**2 + mu_b**2 + SSIM_C1) * (var_a + var_b + SSIM_C2)
    return (numerator / (denominator + eps)).mean()


def _gaussian_window(size: int, dtype: torch.dtype) -> Tensor:
    coords = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    weights = torch.exp(-(coords**2) / (2 * SSIM_SIGMA**2))
    return (weights / weights.sum()).to(dtype)


def _local_moments(a: Tensor, b: Tensor, window: int, stride: int = 1) -> tuple[Tensor, ...]:
    """Gaussian-weighted local means, variances and covariance of ``a`` and ``b`` (valid)."""
    channels = a.shape[1]
    kernel = _gaussian_window(window, a.dtype)
    row = kernel.view(1, 1, 1, window).repeat(5 * channels, 1, 1, 1)
    column = kernel.view(1, 1, window, 1).repeat(5 * channels, 1, 1, 1)
    # One grouped convolution for all five moments: much faster than five on the CPU.
    stacked = torch.cat([a, b, a * a, b * b, a * b], dim=1)
    rows_blurred = F.conv2d(stacked, row, stride=(1, stride), groups=5 * channels)
    blurred = F.conv2d(rows_blurred, column, stride=(stride, 1), groups=5 * channels)
    mu_a, mu_b, mean_aa, mean_bb, mean_ab = blurred.split(channels, dim=1)
    return mu_a, mu_b, mean_aa - mu_a**2, mean_bb - mu_b**2, mean_ab - mu_a * mu_b
