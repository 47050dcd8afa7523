"""What a platform or a scraper does to a photo before recognition: the cleanings a cloak must
survive (re-encoding, resizing, blurring, denoising, colour-depth reduction).

Each :class:`Cleaning` maps an ``(H, W, 3)`` uint8 photo to another and says by how much it
scaled the photo, so a face box found on the original can be carried over.

Example:
    >>> import numpy as np
    >>> photo = np.random.default_rng(0).integers(0, 256, (64, 48, 3), dtype=np.uint8)
    >>> CLEANINGS["resize0.5"](photo).shape, CLEANINGS["resize0.5"].scale
    ((32, 24, 3), 0.5)
    >>> sorted(CLEANINGS) == sorted(ROBUSTNESS_CLEANINGS)
    True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

from facecloak.imaging import jpeg_roundtrip


@dataclass(frozen=True)
class Cleaning:
    """One post-release transform: its name, the function and its scale factor."""

    name: str
    apply: Callable[[np.ndarray], np.ndarray]
    scale: float = 1.0

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        return self.apply(rgb)


def _unchanged(rgb: np.ndarray) -> np.ndarray:
    return rgb


def _jpeg(quality: int) -> Callable[[np.ndarray], np.ndarray]:
    return lambda rgb: jpeg_roundtrip(rgb, quality)


def _resize(scale: float) -> Callable[[np.ndarray], np.ndarray]:
    def resize(rgb: np.ndarray) -> np.ndarray:
        height, width = rgb.shape[:2]
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        return np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BILINEAR))

    return resize


def _pillow_filter(image_filter: ImageFilter.Filter) -> Callable[[np.ndarray], np.ndarray]:
    return lambda rgb: np.asarray(Image.fromarray(rgb).filter(image_filter))


def _quantise_bits(bits: int) -> Callable[[np.ndarray], np.ndarray]:
    step = 2 ** (8 - bits)
    return lambda rgb: ((rgb.astype(np.int32) // step) * step + step // 2).astype(np.uint8)


CLEANINGS: dict[str, Cleaning] = {
    cleaning.name: cleaning
    for cleaning in (
        Cleaning("saved", _unchanged),
        Cleaning("jpeg90", _jpeg(90)),
        Cleaning("jpeg75", _jpeg(75)),
        Cleaning("jpeg50", _jpeg(50)),
        Cleaning("resize0.75", _resize(0.75), 0.75),
        Cleaning("resize0.5", _resize(0.5), 0.5),
        Cleaning("blur1", _pillow_filter(ImageFilter.GaussianBlur(1.0))),
        Cleaning("median3", _pillow_filter(ImageFilter.MedianFilter(3))),
        Cleaning("bits5", _quantise_bits(5)),
    )
}
"""Every cleaning by name (``saved`` is the photo as written)."""

MAIN_CLEANINGS = ("saved", "jpeg75", "jpeg50", "resize0.5")
"""The ones the main transfer table reports."""
ROBUSTNESS_CLEANINGS = tuple(CLEANINGS)
