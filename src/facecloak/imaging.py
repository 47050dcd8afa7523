"""Pixels between numpy and torch: one uint8 <-> tensor pair and one JPEG round trip.

Photos on disk and in the CLI are ``(H, W, 3)`` ``uint8`` RGB arrays; models and attacks work on
float tensors in ``[0, 1]``, channels first. Every conversion in facecloak goes through here, so
all of them round the same way (to the nearest 8-bit level, ties to even).

Example:
    >>> import numpy as np
    >>> rgb = np.array([[[0, 128, 255]]], dtype=np.uint8)
    >>> photo = to_batch(rgb)
    >>> tuple(photo.shape)
    (1, 3, 1, 1)
    >>> to_uint8(photo[0]).tolist()
    [[[0, 128, 255]]]
"""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image


def to_tensor(image: np.ndarray, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """An ``(H, W, 3)`` ``uint8`` RGB array as a ``(3, H, W)`` tensor in ``[0, 1]`` (a copy), of a
    float ``dtype`` NumPy has too (16, 32 or 64 bits).

    Example:
        >>> to_tensor(np.full((2, 4, 3), 255, dtype=np.uint8)).shape
        torch.Size([3, 2, 4])
        >>> to_tensor(np.zeros((1, 1, 3), np.uint8), dtype=torch.float64).dtype
        torch.float64
    """
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) RGB image, got shape {image.shape}")
    if image.dtype != np.uint8:
        raise TypeError(f"expected a uint8 image, got {image.dtype}")
    pixels = torch.empty((3, *image.shape[:2]), dtype=dtype)
    # One pass from the bytes to planes of floats (read-only input is fine): half the time of
    # converting, then reordering, on a large face.
    np.copyto(pixels.numpy(), image.transpose(2, 0, 1))
    return pixels.div_(255.0)


def to_batch(image: np.ndarray, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """An ``(H, W, 3)`` ``uint8`` RGB array as a batch of one: ``(1, 3, H, W)`` in ``[0, 1]``.

    Example:
        >>> to_batch(np.zeros((2, 4, 3), np.uint8)).shape
        torch.Size([1, 3, 2, 4])
    """
    return to_tensor(image, dtype)[None]


def to_uint8(pixels: torch.Tensor) -> np.ndarray:
    """Channels-first pixels in ``[0, 1]`` as channels-last ``uint8`` (clamped, rounded).

    ``(3, H, W)`` gives ``(H, W, 3)``; a batch ``(N, 3, H, W)`` gives ``(N, H, W, 3)``. Take
    ``photo[0]`` of a batch of one for a single image.

    Example:
        >>> to_uint8(torch.ones(1, 3, 2, 2)).shape
        (1, 2, 2, 3)
        >>> to_uint8(torch.tensor([[[-0.5, 0.5, 2.0]]])).tolist()  # one channel, for brevity
        [[[0], [128], [255]]]
    """
    levels = (pixels.detach().clamp(0, 1) * 255.0).round().to(torch.uint8)
    return levels.movedim(-3, -1).cpu().contiguous().numpy()


def quantise(pixels: torch.Tensor) -> torch.Tensor:
    """What an 8-bit photo would store, back as ``float64`` in ``[0, 1]`` (same shape, detached).

    Example:
        >>> (quantise(torch.tensor([0.25, 1.2])) * 255).tolist()
        [64.0, 255.0]
    """
    return (pixels.detach().clamp(0, 1) * 255.0).round().double() / 255.0


def jpeg_roundtrip(rgb: np.ndarray, quality: int) -> np.ndarray:
    """Encode ``(H, W, 3)`` uint8 RGB with Pillow's JPEG at ``quality`` and decode it again, as a
    social network would.

    Example:
        >>> flat = np.full((16, 16, 3), 200, np.uint8)
        >>> jpeg_roundtrip(flat, 75).shape
        (16, 16, 3)
    """
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))


def jpeg75(rgb: np.ndarray) -> np.ndarray:
    """:func:`jpeg_roundtrip` at quality 75, the re-encoding every report measures."""
    return jpeg_roundtrip(rgb, 75)
