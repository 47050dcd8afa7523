"""One image loader used everywhere.

Every input becomes an 8-bit RGB ``numpy`` array ``(H, W, 3)`` with EXIF orientation applied,
whatever the file held (RGBA, grayscale, palette, 16-bit, CMYK), and every failure becomes an
:class:`~facecloak.errors.ImageLoadError` whose message names the file and says what to do.

Example:
    >>> from facecloak.images import load_image
    >>> rgb = load_image("photo.jpg")  # doctest: +SKIP
    >>> rgb.shape, rgb.dtype  # doctest: +SKIP
    ((3024, 4032, 3), dtype('uint8'))
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from facecloak.errors import ImageLoadError

logger = logging.getLogger(__name__)

DEFAULT_MAX_PIXELS = 40_000_000
"""Largest photo accepted by default (40 megapixels): larger ones must be allowed explicitly."""

SUPPORTED_FORMATS = ("JPEG", "PNG", "WEBP", "TIFF", "BMP", "MPO")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp")

PathLike = str | os.PathLike


@dataclass
class LoadedImage:
    """A decoded photo plus what is needed to write it back faithfully.

    Attributes:
        rgb: ``(H, W, 3)`` uint8, EXIF orientation already applied.
        path: where it was read from.
        format: Pillow's format name (``"JPEG"``, ``"PNG"``, ...).
        alpha: ``(H, W)`` uint8 transparency when the file had one, else ``None``.
        straight_rgb: with ``alpha``, the file's own colours before compositing over white
            (what :func:`facecloak.protect.files.write_like_input` puts back), else ``None``.
        exif: the raw EXIF block (orientation reset to normal), or ``None``.
        icc_profile: the embedded colour profile, or ``None``.
    """

    rgb: np.ndarray
    path: Path
    format: str
    alpha: np.ndarray | None = None
    straight_rgb: np.ndarray | None = field(default=None, repr=False)
    exif: bytes | None = None
    icc_profile: bytes | None = None

    @property
    def megapixels(self) -> float:
        return self.rgb.shape[0] * self.rgb.shape[1] / 1e6


def load_image(path: PathLike, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Read ``path`` as ``(H, W, 3)`` uint8 RGB; see :func:`read_image` for the details."""
    return read_image(path, max_pixels=max_pixels).rgb


def read_image(path: PathLike, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> LoadedImage:
    """Decode an image file into a :class:`LoadedImage`.

    Args:
        path: a JPEG, PNG, WebP, TIFF or BMP file.
        max_pixels: refuse images with more pixels than this (decompression-bomb and memory guard);
            ``None`` or ``0`` accepts any size.

    Raises:
        ImageLoadError: missing, empty, a directory, not an image, truncated, or too large.
    """
    path = Path(path)
    _check_is_readable_file(path)
    try:
        with _open_with_size_limit(path, max_pixels) as image:
            fmt = image.format or "unknown"
            exif = _exif_bytes(image)
            icc = image.info.get("icc_profile")
            image.load()
            _refuse_animation(path, image)
            image = ImageOps.exif_transpose(image)
            rgb, alpha = to_rgb(image)
            straight = None if alpha is None else np.asarray(image.convert("RGBA"))[..., :3].copy()
    except ImageLoadError:
        raise
    except UnidentifiedImageError as exc:
        raise ImageLoadError(
            f"{path}: not an image facecloak can read; use a JPEG, PNG, WebP, TIFF or BMP file"
        ) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageLoadError(
            f"{path}: the file is damaged or truncated ({exc}); re-export or re-download it"
        ) from exc
    logger.debug("read %s: %s %dx%d", path, fmt, rgb.shape[1], rgb.shape[0])
    return LoadedImage(rgb, path, fmt, alpha, straight, exif=exif, icc_profile=icc)


def _check_is_readable_file(path: Path) -> None:
    if not path.exists():
        raise ImageLoadError(f"{path}: no such file; check the path")
    if path.is_dir():
        raise ImageLoadError(f"{path}: is a directory; give an image file")
    if path.stat().st_size == 0:
        raise ImageLoadError(f"{path}: the file is empty (0 bytes); re-export or re-download it")


class _open_with_size_limit:
    """Open ``path`` with Pillow, refusing oversized images before decoding any pixel."""

    def __init__(self, path: Path, max_pixels: int | None) -> None:
        self.path = path
        self.max_pixels = max_pixels or None
        self.image: Image.Image | None = None

    def __enter__(self) -> Image.Image:
        with warnings.catch_warnings():
            # Our own limit replaces Pillow's bomb warning; Pillow still errors on its hard limit.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            try:
                self.image = Image.open(self.path)
            except Image.DecompressionBombError as exc:
                raise ImageLoadError(
                    f"{self.path}: image is too large to decode safely ({exc}); downscale it first"
                ) from exc
        width, height = self.image.size
        if self.max_pixels is not None and width * height > self.max_pixels:
            self.image.close()
            raise ImageLoadError(
                f"{self.path}: image is {width}x{height} ({width * height / 1e6:.1f} MP), "
                f"above the {self.max_pixels / 1e6:.0f} MP limit; downscale it or raise the limit "
                "(--max-pixels, 0 for none)"
            )
        if self.image.format not in SUPPORTED_FORMATS:
            logger.warning(
                "%s: format %s is not tested with facecloak", self.path, self.image.format
            )
        return self.image

    def __exit__(self, *exc_info: object) -> None:
        if self.image is not None:
            self.image.close()


def _exif_bytes(image: Image.Image) -> bytes | None:
    if not image.getexif():
        return None
    exif = Image.Exif()
    exif.load(image.getexif().tobytes())  # a copy: the image's own block still drives the rotation
    exif.pop(0x0112, None)  # orientation: the pixels are rotated upright on load
    return exif.tobytes()


def _refuse_animation(path: Path, image: Image.Image) -> None:
    frames = getattr(image, "n_frames", 1)
    if frames > 1:
        raise ImageLoadError(
            f"{path}: an animation of {frames} frames; facecloak protects still photos and "
            "video clips: export the frame you want, or convert the animation to MP4"
        )


def to_rgb(image: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """Convert any Pillow image to ``(H, W, 3)`` uint8 RGB plus its alpha channel (or ``None``).

    Transparent pixels are composited over white, as a viewer shows a cut-out portrait.
    """
    mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        gray = _high_depth_to_uint8(np.asarray(image))
        return np.repeat(gray[..., None], 3, axis=2), None
    if mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = np.asarray(image.convert("RGBA"), dtype=np.float32)
        alpha = rgba[..., 3:] / 255.0
        rgb = rgba[..., :3] * alpha + 255.0 * (1.0 - alpha)
        return np.clip(np.rint(rgb), 0, 255).astype(np.uint8), rgba[..., 3].astype(np.uint8)
    if mode != "RGB":
        image = image.convert("RGB")  # L, 1, P, CMYK, YCbCr, LAB, HSV
    return np.ascontiguousarray(np.asarray(image, dtype=np.uint8)), None


def _high_depth_to_uint8(values: np.ndarray) -> np.ndarray:
    """Scale 16-bit, 32-bit integer or float grayscale to 0..255."""
    values = values.astype(np.float64)
    peak = float(values.max()) if values.size else 0.0
    if peak <= 1.0:
        scale = 255.0
    elif peak <= 255.0:
        scale = 1.0
    else:
        scale = 255.0 / 65535.0
    return np.clip(np.rint(values * scale), 0, 255).astype(np.uint8)


def as_rgb_array(image: np.ndarray | Image.Image | PathLike) -> np.ndarray:
    """Accept a path, a Pillow image or an array and return ``(H, W, 3)`` uint8 RGB.

    Arrays may be ``(H, W)``, ``(H, W, 3)`` or ``(H, W, 4)`` (the alpha channel is left out),
    uint8 or float in [0, 1]. This is the one place every entry point normalises its input.
    """
    if isinstance(image, (str, os.PathLike)):
        return load_image(image)
    if isinstance(image, Image.Image):
        return to_rgb(ImageOps.exif_transpose(image))[0]
    array = np.asarray(image)
    if array.dtype != np.uint8:
        if not np.issubdtype(array.dtype, np.floating):
            raise ValueError(f"image array dtype {array.dtype} is not uint8 or float")
        _check_unit_range(array)
        array = np.clip(np.rint(array * 255.0), 0, 255).astype(np.uint8)
    if array.ndim == 2:
        array = np.repeat(array[..., None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        raise ValueError(f"image array shape {array.shape} is not (H, W), (H, W, 3) or (H, W, 4)")
    return np.ascontiguousarray(array[..., :3])


def _check_unit_range(array: np.ndarray) -> None:
    """Float pixels must lie in [0, 1]: a 0..255 float array would silently turn white."""
    if array.size == 0:
        return
    low, high = float(np.min(array)), float(np.max(array))
    if not (np.isfinite(low) and np.isfinite(high) and low >= 0.0 and high <= 1.0):
        raise ValueError(
            f"float image values span [{low:g}, {high:g}], outside [0, 1]; divide by 255 "
            "(or pass uint8) first"
        )


def save_image(rgb: np.ndarray, path: PathLike, quality: int = 95) -> Path:
    """Write ``(H, W, 3)`` uint8 RGB; the format follows the suffix (JPEG at ``quality``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(rgb)
    if path.suffix.lower() in (".jpg", ".jpeg"):
        image.save(path, quality=quality)
    else:
        image.save(path)
    return path
