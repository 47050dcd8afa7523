"""SSIMULACRA2 of two 8-bit images, computed with OpenCV's separable filters: the score of the
reference Python package (PyPI ``ssimulacra2``, whose constants it reads) to within 1e-9, in a
fraction of its time (a report on a large face scores four windows of up to a megapixel).

It follows the reference step by step, its quirks included: the Gaussian (sigma 1.5, cut at 5
pixels) sees zeros beyond the left and right edges and the edge mirrored beyond the top and
bottom (the reference blurs the transposed image and pads one axis with zeros); each scale is the
last one's 2x2 means in linear light, a partial block at an odd edge averaged over the pixels it
has; the weights are handed out in order over the scales there are. Maps whose weights are all
zero are not computed (almost half of them, most of the finest scale's).

Example:
    >>> photo = np.random.default_rng(0).integers(0, 256, (40, 36, 3), dtype=np.uint8)
    >>> ssimulacra2_uint8(photo, photo)
    100.0
    >>> round(ssimulacra2_uint8(photo, photo // 2), 1)  # half as bright: medium quality
    44.5
"""

from __future__ import annotations

import io
from functools import cache

import cv2
import numpy as np

SCALES = 6
BLUR_SIGMA = 1.5
BLUR_RADIUS = 5
"""The reference's Gaussian: sigma 1.5, cut at 5 pixels each way."""
MIN_SIDE = 8
"""A scale narrower than this on either side is not compared (nor any coarser one)."""
# The score's final mapping (libjxl's ssimulacra2.cc): a scale, a cubic, then a power law.
FINAL_SCALE = 0.9562382616834844
FINAL_CUBIC = (2.326765642916932, -0.020884521182843837, 6.248496625763138e-05)
FINAL_POWER = 0.6276336467831387
MapsRead = tuple[tuple[tuple[bool, bool, bool], ...], ...]


@cache
def reference_constants() -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    """The reference package's opsin matrix (3x3), its bias (3), the SSIM constant and the 108
    weights. Raises ``ImportError`` without the package."""
    from ssimulacra2 import ssimulacra2 as reference

    matrix = np.asarray(reference.kOpsinAbsorbanceMatrix, np.float64).reshape(3, 3)
    bias = np.asarray(reference.kOpsinAbsorbanceBias, np.float64)
    return matrix, bias, float(reference.kC2), np.asarray(reference.weights, np.float64)


@cache
def maps_read(levels: int) -> MapsRead:
    """Per scale, per channel: whether the weights read the structural map, the added edges'
    map and the removed edges' map, for an image of ``levels`` scales."""
    weights = reference_constants()[3][: 3 * levels * 6].reshape(3, levels, 2, 3)
    read = (weights != 0).any(axis=2)  # (channel, scale, map)
    return tuple(
        tuple(tuple(bool(v) for v in read[channel, scale]) for channel in range(3))
        for scale in range(levels)
    )


def score_from_terms(terms: np.ndarray) -> float:
    """The 0-100 score of the ``(3, scales, 6)`` terms (per channel and scale: the structural,
    added-edge and removed-edge maps' means, then their 4-norms)."""
    flat = np.abs(terms.reshape(-1))
    total = float(flat @ reference_constants()[3][: flat.size]) * FINAL_SCALE
    a, b, c = FINAL_CUBIC
    total = a * total + b * total * total + c * total * total * total
    return 100.0 - 10.0 * total**FINAL_POWER if total > 0 else 100.0


def scale_count(height: int, width: int) -> int:
    """How many scales of a ``height`` x ``width`` image are compared."""
    levels = 0
    while levels < SCALES and min(height, width) >= MIN_SIDE:
        levels += 1
        height, width = (height + 1) // 2, (width + 1) // 2
    return levels


def ssimulacra2_uint8(original: np.ndarray, changed: np.ndarray) -> float:
    """SSIMULACRA2 of ``changed`` against ``original`` (``(h, w, 3)`` uint8, at least 8x8):
    100 for identical images, 90 visually lossless, 70 high quality, 50 medium, 30 low."""
    if original.shape != changed.shape or original.ndim != 3 or original.shape[2] != 3:
        raise ValueError(f"need two (h, w, 3) images of one shape, got {original.shape}")
    if original.dtype != np.uint8 or changed.dtype != np.uint8:
        raise ValueError(f"need uint8 images, got {original.dtype} and {changed.dtype}")
    levels = scale_count(*original.shape[:2])
    if levels == 0:
        raise ValueError(f"need at least {MIN_SIDE}x{MIN_SIDE} pixels, got {original.shape[:2]}")
    table = _linear_table()
    first, second = table[original], table[changed]
    read = maps_read(levels)
    terms = np.zeros((3, levels, 6))
    for scale in range(levels):
        if scale:
            first, second = _halved(first), _halved(second)
        planes = zip(_xyb_planes(first), _xyb_planes(second), strict=True)
        for channel, (clean, other) in enumerate(planes):
            terms[channel, scale] = _channel_terms(clean, other, read[scale][channel])
    return score_from_terms(terms)


def reference_package_score(original: np.ndarray, changed: np.ndarray) -> float:
    """The reference package's own score of two ``(h, w, 3)`` uint8 images, handed to it as the
    in-memory PPM files it reads: what :func:`ssimulacra2_uint8` is checked against (several
    times slower). Raises ``ImportError`` without the package."""
    from PIL import Image
    from ssimulacra2 import compute_ssimulacra2

    streams = []
    for image in (original, changed):
        stream = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(image)).save(stream, format="PPM")
        stream.seek(0)
        streams.append(stream)
    return float(compute_ssimulacra2(*streams))


@cache
def _linear_table() -> np.ndarray:
    """sRGB byte -> linear light, as the reference's two-part curve gives it."""
    srgb = np.arange(256, dtype=np.float64) / 255.0
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


def _xyb_planes(linear: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Linear RGB ``(h, w, 3)`` to the positive X, Y and B planes SSIMULACRA2 compares."""
    matrix, bias, _, _ = reference_constants()
    mixed = cv2.transform(linear, np.hstack([matrix, bias[:, None]]))
    # OpenCV's power is six times NumPy's cube root, and agrees with it to a unit in the last place.
    cone = cv2.pow(np.maximum(mixed, 0.0), 1.0 / 3.0) - np.cbrt(bias)
    long, medium, short = cone[..., 0], cone[..., 1], cone[..., 2]
    y = 0.5 * (long + medium)
    return 0.5 * (long - medium) * 14.0 + 0.42, y + 0.01, short - y + 0.55


def _halved(linear: np.ndarray) -> np.ndarray:
    """The 2x2 means of ``linear``; an odd edge's partial blocks averaged over what they hold
    (the edge repeated, which weighs each of its pixels as the reference does)."""
    height, width = linear.shape[:2]
    padded = np.pad(linear, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge")
    top, bottom = padded[0::2], padded[1::2]
    return 0.25 * (top[:, 0::2] + bottom[:, 0::2] + top[:, 1::2] + bottom[:, 1::2])


@cache
def blur_kernel() -> np.ndarray:
    """The reference's normalised 1-D Gaussian, ``2 * BLUR_RADIUS + 1`` taps."""
    taps = np.arange(-BLUR_RADIUS, BLUR_RADIUS + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * taps**2 / BLUR_SIGMA**2)
    return kernel / kernel.sum()


def _blur(plane: np.ndarray) -> np.ndarray:
    """The reference's Gaussian of one plane: zeros beyond the left and right edges, the edge
    mirrored (edge pixel repeated) beyond the top and bottom."""
    r = BLUR_RADIUS
    padded = cv2.copyMakeBorder(plane, 0, 0, r, r, cv2.BORDER_CONSTANT, value=0.0)
    kernel = blur_kernel()
    blurred = cv2.sepFilter2D(padded, cv2.CV_64F, kernel, kernel, borderType=cv2.BORDER_REFLECT)
    return blurred[:, r:-r]


def _channel_terms(clean: np.ndarray, other: np.ndarray, read: tuple[bool, bool, bool]) -> list:
    """One channel's six terms at one scale (structure, added edges, removed edges: means, then
    4-norms); zero for the maps ``read`` leaves out."""
    terms = [0.0] * 6
    structure_read, added_read, removed_read = read
    if not any(read):
        return terms
    mu1, mu2 = _blur(clean), _blur(other)
    if structure_read:
        c2 = reference_constants()[2]
        var1 = _blur(clean * clean) - mu1 * mu1
        var2 = _blur(other * other) - mu2 * mu2
        cov = _blur(clean * other) - mu1 * mu2
        structure = 1.0 - (1.0 - (mu1 - mu2) ** 2) * (2.0 * cov + c2) / (var1 + var2 + c2)
        terms[0], terms[3] = _pooled(np.maximum(structure, 0.0))
    if added_read or removed_read:
        ratio = (1.0 + np.abs(other - mu2)) / (1.0 + np.abs(clean - mu1)) - 1.0
        if added_read:
            terms[1], terms[4] = _pooled(np.maximum(ratio, 0.0))
        if removed_read:
            terms[2], terms[5] = _pooled(np.maximum(-ratio, 0.0))
    return terms


def _pooled(values: np.ndarray) -> tuple[float, float]:
    """A non-negative map's mean and 4-norm mean."""
    square = values * values
    return float(values.mean()), float(np.mean(square * square)) ** 0.25
