"""Uploaded photos: decoded from memory (the type is what the bytes decode as, never the name),
checked against the caps before any pixel is decoded, and written back without metadata.

Example:
    >>> import io
    >>> from PIL import Image
    >>> stream = io.BytesIO(); Image.new("RGB", (4, 3)).save(stream, "PNG")
    >>> decode_photo(stream.getvalue(), Caps(max_bytes=10_000, max_megapixels=1)).shape
    (3, 4, 3)
"""

from __future__ import annotations

import io
import logging
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from facecloak.images import SUPPORTED_FORMATS, to_rgb

logger = logging.getLogger(__name__)


class UploadError(Exception):
    """An upload the server refuses: ``status`` is the HTTP code, the message says what to do."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Caps:
    """What one photo may weigh: bytes on the wire, megapixels once decoded."""

    max_bytes: int
    max_megapixels: float


def decode_photo(data: bytes, caps: Caps, name: str = "photo") -> np.ndarray:
    """``(H, W, 3)`` uint8 RGB from an uploaded file's bytes, EXIF orientation applied.

    Raises:
        UploadError: 400 (empty), 413 (over a cap), 415 (not an image we read), 422 (damaged).
    """
    if not data:
        raise UploadError(400, f"{name}: the file is empty (0 bytes)")
    if len(data) > caps.max_bytes:
        raise UploadError(
            413, f"{name}: {len(data) / 1e6:.1f} MB is above the {caps.max_bytes / 1e6:g} MB limit"
        )
    image = _open(data, name)
    try:
        _check_size(image, caps, name)
        image.load()
        return to_rgb(ImageOps.exif_transpose(image))[0]
    except UploadError:
        raise
    except (OSError, SyntaxError, ValueError) as exc:
        raise UploadError(422, f"{name}: the image is damaged or truncated ({exc})") from exc
    finally:
        image.close()


def _open(data: bytes, name: str) -> Image.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
        except Image.DecompressionBombError as exc:
            raise UploadError(413, f"{name}: the image is too large to decode safely") from exc
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            raise UploadError(
                415, f"{name}: not an image; send a JPEG, PNG, WebP, TIFF or BMP photo"
            ) from exc
    if image.format not in SUPPORTED_FORMATS:
        image.close()
        raise UploadError(
            415, f"{name}: {image.format} is not accepted; send a JPEG, PNG, WebP, TIFF or BMP"
        )
    return image


def _check_size(image: Image.Image, caps: Caps, name: str) -> None:
    width, height = image.size
    megapixels = width * height / 1e6
    if megapixels > caps.max_megapixels:
        raise UploadError(
            413,
            f"{name}: {width}x{height} ({megapixels:.1f} MP) is above the "
            f"{caps.max_megapixels:g} MP limit; downscale it",
        )


def encode_png(rgb: np.ndarray) -> bytes:
    """Lossless PNG of ``rgb`` with no metadata at all (no EXIF, GPS, ICC or text chunks)."""
    stream = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(stream, format="PNG", optimize=False)
    return stream.getvalue()


def amplified_difference(
    original: np.ndarray, changed: np.ndarray, gain: float = 10.0
) -> np.ndarray:
    """``|changed - original|`` times ``gain``, clipped: where and how much a photo changed."""
    diff = np.abs(changed.astype(np.int16) - original.astype(np.int16)).astype(np.float32)
    return np.clip(diff * gain, 0, 255).astype(np.uint8)
