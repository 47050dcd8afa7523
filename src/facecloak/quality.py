"""How much a photo changed: L2, L-inf, PSNR, SSIM and MS-SSIM, optionally inside a region.

NumPy only (reports of a blur run never import torch); :mod:`facecloak.ssim` is the same SSIM
in torch, differentiable, for the optimisers. Pixel values are on a [0, 1] scale; L2 is the
Euclidean norm of the whole difference (not per pixel), so it grows with the region's size.
``ImageChange`` also gives the per-pixel RMS for comparisons across sizes.

Example:
    >>> import numpy as np
    >>> a = np.zeros((32, 32, 3), np.uint8)
    >>> b = a.copy(); b[0, 0, 0] = 255
    >>> change = image_change(a, b)
    >>> change.l2, change.linf
    (1.0, 1.0)
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from facecloak.geometry import widened
from facecloak.ssimulacra_score import MIN_SIDE, reference_constants, ssimulacra2_uint8

Box = tuple[int, int, int, int]

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_C1 = 0.01**2
SSIM_C2 = 0.03**2
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
    a = np.asarray(original, np.float64) / 255.0
    b = np.asarray(changed, np.float64) / 255.0
    diff = (a - b).ravel()
    squared = float(np.sum(diff * diff))  # not np.linalg.norm: BLAS threads would spin
    mse = squared / diff.size if diff.size else 0.0
    return ImageChange(
        l2=squared**0.5,
        linf=float(np.abs(diff).max()) if diff.size else 0.0,
        rms=mse**0.5,
        psnr=float("inf") if mse == 0 else float(10 * np.log10(1.0 / mse)),
        ssim=ssim(a, b),
        ms_ssim=ms_ssim(a, b) if multiscale else None,
    )


def ssim(a: np.ndarray, b: np.ndarray, window: int = SSIM_WINDOW) -> float:
    """Mean SSIM of two ``(H, W, C)`` float images in [0, 1] (Gaussian window, sigma 1.5, valid;
    kornia's, which the published figures used, as :func:`facecloak.ssim.differentiable_ssim`).

    Regions smaller than 3 px on a side compare equal (1.0) or not (0.0).

    Example:
        >>> a = np.random.default_rng(0).random((16, 16, 3))
        >>> round(ssim(a, a), 6)
        1.0
    """
    window = min(window, largest_odd_at_most(min(a.shape[:2])))
    if window < 3:
        return float(np.allclose(a, b))
    mu_a, mu_b, var_a, var_b, cov = _local_moments(a, b, window)
    numerator = (2 * mu_a * mu_b + SSIM_C1) * (2 * cov + SSIM_C2)
    denominator = (mu_a**2 + mu_b**2 + SSIM_C1) * (var_a + var_b + SSIM_C2)
    return float(np.mean(numerator / (denominator + SSIM_EPS)))


def gaussian_window(size: int = SSIM_WINDOW, sigma: float = SSIM_SIGMA) -> np.ndarray:
    """The normalised 1-D Gaussian SSIM uses (kornia's, sigma 1.5).

    Example:
        >>> round(float(gaussian_window().sum()), 12)
        1.0
    """
    coords = np.arange(size, dtype=np.float64) - (size - 1) / 2
    weights = np.exp(-(coords**2) / (2 * sigma**2))
    return weights / weights.sum()


def _local_moments(a: np.ndarray, b: np.ndarray, window: int) -> tuple[np.ndarray, ...]:
    """Gaussian-weighted local means, variances and covariance of ``a`` and ``b`` (valid)."""
    kernel = gaussian_window(window)
    stacked = np.concatenate([a, b, a * a, b * b, a * b], axis=2)
    blurred = _blur_valid(stacked, kernel)
    mu_a, mu_b, mean_aa, mean_bb, mean_ab = np.split(blurred, 5, axis=2)
    return mu_a, mu_b, mean_aa - mu_a**2, mean_bb - mu_b**2, mean_ab - mu_a * mu_b


def _blur_valid(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """``image`` ``(H, W, C)`` filtered with the 1-D ``kernel`` along both axes, valid part
    only (OpenCV's separable filter: a twentieth of the time of NumPy's shifted sums, and no
    BLAS thread pool wakes up to fight the detector's)."""
    import cv2

    reach = len(kernel) // 2
    blurred = cv2.sepFilter2D(image, cv2.CV_64F, kernel, kernel, borderType=cv2.BORDER_CONSTANT)
    blurred = blurred.reshape(image.shape)  # OpenCV drops a single channel's axis
    return blurred[reach : image.shape[0] - reach, reach : image.shape[1] - reach]


MS_SSIM_MIN_SIDE = SSIM_WINDOW * 2 ** (len(MS_SSIM_WEIGHTS) - 1)


def ms_ssim(a: np.ndarray, b: np.ndarray) -> float | None:
    """Multi-scale SSIM (Wang, Simoncelli & Bovik 2003: 5 scales and their weights) of two
    ``(H, W, C)`` images in [0, 1].

    Returns ``None`` when the region is too small for 5 scales with an 11 px window: its short
    side must keep 11 px after four halvings (at least 176 px).
    """
    if min(a.shape[:2]) < MS_SSIM_MIN_SIDE:
        return None
    value = 1.0
    for scale, weight in enumerate(MS_SSIM_WEIGHTS):
        mu_a, mu_b, var_a, var_b, cov = _local_moments(a, b, SSIM_WINDOW)
        term = np.mean((2 * cov + SSIM_C2) / (var_a + var_b + SSIM_C2))
        if scale == len(MS_SSIM_WEIGHTS) - 1:
            term *= np.mean((2 * mu_a * mu_b + SSIM_C1) / (mu_a**2 + mu_b**2 + SSIM_C1))
        value *= max(float(term), 1e-8) ** weight
        a, b = _halved(a), _halved(b)
    return value


def _halved(image: np.ndarray) -> np.ndarray:
    """2x2 average pooling (odd last rows and columns dropped, as torch's ``avg_pool2d``)."""
    height, width = image.shape[0] // 2 * 2, image.shape[1] // 2 * 2
    blocks = image[:height, :width].reshape(height // 2, 2, width // 2, 2, -1)
    return blocks.mean(axis=(1, 3))


def largest_odd_at_most(value: int) -> int:
    return value if value % 2 else value - 1


S2_CONTEXT = 256
"""SSIMULACRA2 judges a face box with at least this many pixels a side of its surroundings.

On a small box its six scales run out of pixels and it stops seeing what people see: on LFW's
250 px photos a cloak that scarred the skin scored 70-77 on the ~110 px face box and 19-45 on
the photo (``benchmarks/s2_context.py``); the metric was made for images of a few hundred
pixels. Boxes at least this large are judged as they are."""


S2_PHASES: tuple[tuple[int, int], ...] = ((0, 0), (2, 2), (1, 3), (3, 1))
"""Where the judged window's corner sits, ``(x, y)`` pixels in from where it would: SSIMULACRA2
halves the image on a fixed pixel grid, and a change optimised against one grid can hide between
its blocks (a cloak held to 72 at one corner scored 60 two pixels over, where a JPEG moves by
under 1.5). Each column offset 0-3 and each row offset 0-3 appears once; the lowest score
counts."""


def phases_that_fit(
    height: int, width: int, phases: Sequence[tuple[int, int]] = S2_PHASES
) -> list[tuple[int, int]]:
    """The ``phases`` that leave a ``height`` x ``width`` window the 8x8 pixels SSIMULACRA2
    needs (the first always kept).

    >>> phases_that_fit(10, 40)
    [(0, 0), (2, 2), (3, 1)]
    """
    return [p for i, p in enumerate(phases) if i == 0 or min(height - p[1], width - p[0]) >= 8]


def ssimulacra2_score(
    original: np.ndarray, changed: np.ndarray, box: Box | None = None
) -> float | None:
    """SSIMULACRA2 of ``changed`` against ``original`` (around ``box`` when given, widened to
    :data:`S2_CONTEXT` pixels a side within the photo), the lowest over the window's
    :data:`S2_PHASES`: 100 is identical, about 90 visually lossless, 70 high quality, 50
    medium, below 30 visibly degraded.

    Returns ``None`` when the optional ``ssimulacra2`` package is absent or the region is too
    small for its six scales (under 8 px on a side).

    >>> a = np.full((32, 32, 3), 128, np.uint8)
    >>> ssimulacra2_score(a, a) in (100.0, None)
    True
    """
    scores = ssimulacra2_phases(original, changed, box)
    return None if scores is None else min(scores)


def ssimulacra2_phases(
    original: np.ndarray,
    changed: np.ndarray,
    box: Box | None = None,
    phases: Sequence[tuple[int, int]] = S2_PHASES,
) -> list[float] | None:
    """SSIMULACRA2 of the window :func:`ssimulacra2_score` judges, once per phase of
    ``phases`` that fits (its corner moved ``(x, y)`` pixels in); ``None`` as there."""
    if box is not None:
        x0, y0, x1, y1 = widened(box, S2_CONTEXT, *original.shape[:2])
        original, changed = original[y0:y1, x0:x1], changed[y0:y1, x0:x1]
    scores = list(_phase_scores(original, changed, phases))
    return None if None in scores else scores


def ssimulacra2_at_least(original: np.ndarray, changed: np.ndarray, floor: float) -> bool:
    """Whether every phase of this window (:func:`ssimulacra2_phases` without a box) scores at
    least ``floor``; stops at the first that does not. A window too small to score passes."""
    return all(
        score is None or score >= floor for score in _phase_scores(original, changed, S2_PHASES)
    )


def _phase_scores(
    original: np.ndarray, changed: np.ndarray, phases: Sequence[tuple[int, int]]
) -> Iterator[float | None]:
    """The window's score with its corner moved by each phase that fits, one at a time."""
    for dx, dy in phases_that_fit(*original.shape[:2], phases):
        yield ssimulacra2_window(original[dy:, dx:], changed[dy:, dx:])


_S2_MEMO: OrderedDict[bytes, float] = OrderedDict()
_S2_MEMO_SIZE = 32
_S2_MEMO_LOCK = threading.Lock()


def ssimulacra2_window(original: np.ndarray, changed: np.ndarray) -> float | None:
    """SSIMULACRA2 of exactly this window (one pixel grid) on 8-bit images: the reference
    package's score (:mod:`facecloak.ssimulacra_score`); ``None`` without the package or under
    8 px on a side.

    The last scores are kept by the windows' content: a cloak's final scaling judges the very
    windows its report judges next, and scores them once.
    """
    try:
        reference_constants()
    except ImportError:
        return None
    if min(original.shape[:2]) < MIN_SIDE:
        return None
    key = _content_key(original, changed)
    with _S2_MEMO_LOCK:
        if key in _S2_MEMO:
            _S2_MEMO.move_to_end(key)
            return _S2_MEMO[key]
    score = ssimulacra2_uint8(_rgb8(original), _rgb8(changed))
    with _S2_MEMO_LOCK:
        _S2_MEMO[key] = score
        while len(_S2_MEMO) > _S2_MEMO_SIZE:
            _S2_MEMO.popitem(last=False)
    return score


def _rgb8(image: np.ndarray) -> np.ndarray:
    """``image`` as ``(h, w, 3)`` (grey repeated, alpha dropped), as the reference reads a
    file; bytes stay bytes (anything else is refused by the scorer, as the reference's file
    writer refused it)."""
    return np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image[..., :3]


def _content_key(*images: np.ndarray) -> bytes:
    digest = hashlib.blake2b(digest_size=20)
    for image in images:
        digest.update(repr((image.shape, image.dtype.str)).encode())
        digest.update(np.ascontiguousarray(image).data)
    return digest.digest()
