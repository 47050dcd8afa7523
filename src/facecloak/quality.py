"""How much a photo changed: L2, L-inf, PSNR, SSIM and MS-SSIM, optionally inside a region.

Pixel values are on a [0, 1] scale; L2 is the Euclidean norm of the whole difference (not per
pixel), so it grows with the region's size. ``ImageChange`` also gives the per-pixel RMS for
comparisons across sizes.

Example:
    >>> import numpy as np
    >>> a = np.zeros((32, 32, 3), np.uint8)
    >>> b = a.copy(); b[0, 0, 0] = 255
    >>> change = image_change(a, b)
    >>> change.l2, change.linf
    (1.0, 1.0)
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from facecloak.imaging import to_batch

Box = tuple[int, int, int, int]

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
_C1 = 0.01**2
_C2 = 0.03**2
SSIM_EPS = 1e-12
"""Added to the SSIM denominator by :func:`ssim` (kornia's, which the published figures used)."""
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


@dataclass(frozen=True)
class ImageChange:
    """Differences between an original and a changed image (or one region of them)."""

    l2: float
    linf: float
    rms: float
    psnr: float
    ssim: float
    ms_ssim: float | None = None

    def to_dict(self) -> dict:
        return {k: (None if v is None else round(float(v), 6)) for k, v in asdict(self).items()}


def image_change(
    original: np.ndarray, changed: np.ndarray, box: Box | None = None, multiscale: bool = False
) -> ImageChange:
    """Compare two ``(H, W, 3)`` uint8 images, inside ``box = (x0, y0, x1, y1)`` when given.

    ``multiscale`` adds MS-SSIM (needs a region of at least 176 px on its short side: smaller
    regions report ``None``).
    """
    if original.shape != changed.shape:
        raise ValueError(f"shapes differ: {original.shape} vs {changed.shape}")
    if box is not None:
        x0, y0, x1, y1 = (round(v) for v in box)
        original, changed = original[y0:y1, x0:x1], changed[y0:y1, x0:x1]
    a = to_batch(original, torch.float64)
    b = to_batch(changed, torch.float64)
    diff = (a - b).flatten()
    mse = float(diff.pow(2).mean())
    return ImageChange(
        l2=float(torch.linalg.vector_norm(diff)),
        linf=float(diff.abs().max()) if diff.numel() else 0.0,
        rms=mse**0.5,
        psnr=float("inf") if mse == 0 else float(10 * np.log10(1.0 / mse)),
        ssim=ssim(a, b),
        ms_ssim=ms_ssim(a, b) if multiscale else None,
    )


def ssim(a: Tensor, b: Tensor, window: int = SSIM_WINDOW) -> float:
    """Mean SSIM of two ``(1, 3, H, W)`` images in [0, 1] (Gaussian window, sigma 1.5, valid).

    Regions smaller than 3 px on a side compare equal (1.0) or not (0.0).

    Example:
        >>> a = torch.rand(1, 3, 16, 16, dtype=torch.float64)
        >>> round(ssim(a, a), 6)
        1.0
    """
    window = min(window, _largest_odd_at_most(min(a.shape[-2:])))
    if window < 3:
        return float(torch.allclose(a, b))
    return float(differentiable_ssim(a, b, window, eps=SSIM_EPS))


def differentiable_ssim(
    a: Tensor,
    b: Tensor,
    window: int = SSIM_WINDOW,
    stride: int = 1,
    offset: tuple[int, int] = (0, 0),
    eps: float = 0.0,
) -> Tensor:
    """Mean SSIM of two ``(1, C, H, W)`` images in [0, 1], differentiable in both.

    The one SSIM of facecloak (:func:`ssim` is its float): Gaussian window, sigma 1.5, ``valid``
    padding, computed with a separable filter. With ``stride > 1`` only every ``stride``-th window
    (from ``offset``) is averaged: an estimate that costs about ``stride`` times less on large
    face regions, and still touches every pixel when ``stride < window``. ``eps`` is added to the
    denominator (it moves dark flat regions by up to about 1e-5).

    Example:
        >>> a = torch.rand(1, 3, 20, 20, dtype=torch.float64, requires_grad=True)
        >>> value = differentiable_ssim(a, a.detach().flip(-1))
        >>> value.backward(); a.grad.shape
        torch.Size([1, 3, 20, 20])
    """
    if stride > 1:
        a, b = a[..., offset[0] :, offset[1] :], b[..., offset[0] :, offset[1] :]
    window = min(window, _largest_odd_at_most(min(a.shape[-2:])))
    mu_a, mu_b, var_a, var_b, cov = _local_moments(a, b, window, stride)
    numerator = (2 * mu_a * mu_b + _C1) * (2 * cov + _C2)
    denominator = (mu_a**2 + mu_b**2 + _C1) * (var_a + var_b + _C2)
    return (numerator / (denominator + eps)).mean()


def gaussian_window(size: int = SSIM_WINDOW, sigma: float = SSIM_SIGMA) -> Tensor:
    """The normalised 1-D Gaussian SSIM uses (kornia's, sigma 1.5).

    Example:
        >>> round(float(gaussian_window().sum()), 12)
        1.0
    """
    coords = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    weights = torch.exp(-(coords**2) / (2 * sigma**2))
    return weights / weights.sum()


def _local_moments(a: Tensor, b: Tensor, window: int, stride: int = 1) -> tuple[Tensor, ...]:
    """Gaussian-weighted local means, variances and covariance of ``a`` and ``b`` (valid)."""
    channels = a.shape[1]
    kernel = gaussian_window(window).to(a.dtype)
    row = kernel.view(1, 1, 1, window).repeat(5 * channels, 1, 1, 1)
    column = kernel.view(1, 1, window, 1).repeat(5 * channels, 1, 1, 1)
    # One grouped convolution for all five moments: much faster than five on the CPU.
    stacked = torch.cat([a, b, a * a, b * b, a * b], dim=1)
    rows_blurred = F.conv2d(stacked, row, stride=(1, stride), groups=5 * channels)
    blurred = F.conv2d(rows_blurred, column, stride=(stride, 1), groups=5 * channels)
    mu_a, mu_b, mean_aa, mean_bb, mean_ab = blurred.split(channels, dim=1)
    return mu_a, mu_b, mean_aa - mu_a**2, mean_bb - mu_b**2, mean_ab - mu_a * mu_b


MS_SSIM_MIN_SIDE = SSIM_WINDOW * 2 ** (len(MS_SSIM_WEIGHTS) - 1)


def ms_ssim(a: Tensor, b: Tensor) -> float | None:
    """Multi-scale SSIM (Wang, Simoncelli & Bovik 2003: 5 scales and their weights).

    Returns ``None`` when the region is too small for 5 scales with an 11 px window: its short
    side must keep 11 px after four halvings (at least 176 px).
    """
    if min(a.shape[-2:]) < MS_SSIM_MIN_SIDE:
        return None
    terms = []
    for scale, weight in enumerate(MS_SSIM_WEIGHTS):
        luminance, contrast_structure = _ssim_parts(a, b)
        last = scale == len(MS_SSIM_WEIGHTS) - 1
        value = luminance * contrast_structure if last else contrast_structure
        terms.append(value.clamp(min=1e-8) ** weight)
        a, b = (F.avg_pool2d(t, 2) for t in (a, b))
    return float(torch.stack(terms).prod())


def _ssim_parts(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    """Mean luminance term and mean contrast-structure term of SSIM (11 px Gaussian, valid)."""
    mu_a, mu_b, var_a, var_b, cov = _local_moments(a, b, SSIM_WINDOW)
    luminance = (2 * mu_a * mu_b + _C1) / (mu_a**2 + mu_b**2 + _C1)
    contrast_structure = (2 * cov + _C2) / (var_a + var_b + _C2)
    return luminance.mean(), contrast_structure.mean()


def _largest_odd_at_most(value: int) -> int:
    return value if value % 2 else value - 1


def ssimulacra2_score(
    original: np.ndarray, changed: np.ndarray, box: Box | None = None
) -> float | None:
    """SSIMULACRA2 of ``changed`` against ``original`` (inside ``box`` when given): 100 is
    identical, about 90 visually lossless, 70 high quality, 50 medium, below 30 visibly degraded.

    Returns ``None`` when the optional ``ssimulacra2`` package is absent or the region is too
    small for its six scales (under 8 px on a side).

    >>> a = np.full((32, 32, 3), 128, np.uint8)
    >>> ssimulacra2_score(a, a) in (100.0, None)
    True
    """
    try:
        from ssimulacra2 import compute_ssimulacra2
    except ImportError:
        return None
    if box is not None:
        x0, y0, x1, y1 = (round(v) for v in box)
        original, changed = original[y0:y1, x0:x1], changed[y0:y1, x0:x1]
    if min(original.shape[:2]) < 8:
        return None
    return float(compute_ssimulacra2(_png_stream(original), _png_stream(changed)))


def _png_stream(rgb: np.ndarray) -> io.BytesIO:
    from PIL import Image

    stream = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(stream, format="PNG")
    stream.seek(0)
    return stream
