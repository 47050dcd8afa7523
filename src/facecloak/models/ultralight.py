"""Ultra-Light-Fast-Generic-Face-Detector (version RFB-320) in PyTorch, differentiable.

A 281 k-parameter SSD face detector (Linzaer/Ultra-Light-Fast-Generic-Face-Detector-1MB, MIT):
the photo is stretched to 320x240, normalised with ``(x - 127) / 128`` (RGB, 0-255), and a slim
MobileNet-style backbone with one receptive-field block (RFB) feeds four SSD heads, at strides 8,
16, 32 and 64, which score and regress 4,420 prior boxes in all.

Architecture (``N x C x H x W`` for the 240x320 input; every backbone convolution has no bias and
is followed by a batch norm):

* ``base_net.0``: 3x3 conv /2, 3 -> 16, ReLU (120x160);
* ``base_net.1-6``: depthwise-separable blocks (3x3 depthwise + BN + ReLU, 1x1 + BN + ReLU),
  16 -> 32 -> 32 (/2) -> 32 -> 64 (/2) -> 64 -> 64 (30x40, stride 8);
* ``base_net.7``: RFB, three branches (1x1 then 3x3 dilated 2, 3 and 5) concatenated, a linear
  1x1, plus a 1x1 shortcut, then ReLU -> **head 0** (3 priors of 10, 16, 24 px per cell);
* ``base_net.8-10``: separable blocks 64 -> 128 (/2) -> 128 -> 128 (15x20) -> **head 1** (32, 48);
* ``base_net.11-12``: separable blocks 128 -> 256 (/2) -> 256 (8x10) -> **head 2** (64, 96);
* ``extras.0``: 1x1 256 -> 64, ReLU, separable 3x3 /2 64 -> 256, ReLU (4x5) -> **head 3**
  (128, 192, 256);
* heads 0-2: separable 3x3 (depthwise with bias, ReLU, 1x1 with bias); head 3: a plain 3x3 conv.
  Each gives 2 class logits (background, face) and 4 box offsets per prior.

Priors are ``(cx, cy, w, h)`` normalised by the input size, cell centres ``(j + 0.5) / map width``,
sizes clipped to 1; offsets decode SSD-style with variances 0.1 (centre) and 0.2 (size). The
module reproduces ``version-RFB-320_without_postprocessing.onnx`` and, with :func:`decode_boxes`,
``version-RFB-320.onnx`` (``tests/models/test_ultralight.py``).

Example::

    net = load_ultralight()
    faces = detect_faces(net, rgb_uint8)        # boxes (K, 4) in the photo's pixels, scores (K,)

    photo = photo_to_tensor(rgb_uint8).requires_grad_(True)  # (1, 3, H, W) RGB in [0, 1]
    candidates = face_scores(net, photo)         # scores (1, 4420), boxes (1, 4420, 4)
    candidates.scores.max().backward()           # photo.grad: (1, 3, H, W)
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from facecloak.models.centerface import Detections, photo_to_tensor
from facecloak.models.dense_detections import (
    DenseDetections,
    check_photos,
    load_into,
    read_state_dict,
    select_faces,
)
from facecloak.models.detector import TorchPortDetector, register_detector
from facecloak.models.seeding import keeps_random_state

logger = logging.getLogger(__name__)

WEIGHTS_FOLDER = "ultralight"
WEIGHTS_FILE = "version-RFB-320.pth"
WEIGHTS_SOURCE = (
    "Linzaer/Ultra-Light-Fast-Generic-Face-Detector-1MB (models/pretrained/version-RFB-320.pth)"
)

#: ``(height, width)`` the photo is stretched to.
INPUT_SIZE = (240, 320)
IMAGE_MEAN = 127.0
IMAGE_SCALE = 128.0
#: Prior box sizes in input pixels, per head.
MIN_BOXES: tuple[tuple[int, ...], ...] = ((10, 16, 24), (32, 48), (64, 96), (128, 192, 256))
#: Input pixels per cell of each head's feature map.
STRIDES = (8, 16, 32, 64)
CENTER_VARIANCE = 0.1
SIZE_VARIANCE = 0.2
BASE_CHANNELS = 16

# --------------------------------------------------------------------------------------------------
# Architecture
# --------------------------------------------------------------------------------------------------


def conv_bn(in_ch: int, out_ch: int, stride: int) -> nn.Sequential:
    """3x3 conv (no bias), batch norm, ReLU."""
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, 3, stride, 1, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.ReLU(inplace=True),
    )


def conv_dw(in_ch: int, out_ch: int, stride: int) -> nn.Sequential:
    """Depthwise 3x3 + BN + ReLU, then pointwise 1x1 + BN + ReLU (no biases)."""
    return nn.Sequential(
        nn.Conv2d(in_ch, in_ch, 3, stride, 1, groups=in_ch, bias=False),
        nn.BatchNorm2d(in_ch),
        nn.ReLU(inplace=True),
        nn.Conv2d(in_ch, out_ch, 1, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.ReLU(inplace=True),
    )


def separable_conv(in_ch: int, out_ch: int, stride: int = 1) -> nn.Sequential:
    """Depthwise 3x3 with bias, ReLU, pointwise 1x1 with bias (the SSD heads' convolution)."""
    return nn.Sequential(
        nn.Conv2d(in_ch, in_ch, 3, stride, 1, groups=in_ch),
        nn.ReLU(),
        nn.Conv2d(in_ch, out_ch, 1),
    )


class BasicConv(nn.Module):
    """Convolution without bias, batch norm, optional ReLU (attributes ``conv``, ``bn``)."""

    def __init__(
        self, in_ch: int, out_ch: int, kernel: int, dilation: int = 1, relu: bool = True
    ) -> None:
        super().__init__()
        padding = dilation * (kernel // 2)
        self.conv = nn.Conv2d(in_ch, out_ch, kernel, 1, padding, dilation=dilation, bias=False)
        self.bn = nn.BatchNorm2d(out_ch)
        self.relu = nn.ReLU(inplace=True) if relu else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        return self.relu(self.bn(self.conv(x)))


class BasicRFB(nn.Module):
    """Receptive-field block: three dilated branches, linear 1x1 fusion, 1x1 shortcut, ReLU."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        inter = channels // 8
        self.branch0 = nn.Sequential(
            BasicConv(channels, inter, 1, relu=False),
            BasicConv(inter, 2 * inter, 3),
            BasicConv(2 * inter, 2 * inter, 3, dilation=2, relu=False),
        )
        self.branch1 = nn.Sequential(
            BasicConv(channels, inter, 1, relu=False),
            BasicConv(inter, 2 * inter, 3),
            BasicConv(2 * inter, 2 * inter, 3, dilation=3, relu=False),
        )
        self.branch2 = nn.Sequential(
            BasicConv(channels, inter, 1, relu=False),
            BasicConv(inter, inter // 2 * 3, 3),
            BasicConv(inter // 2 * 3, 2 * inter, 3),
            BasicConv(2 * inter, 2 * inter, 3, dilation=5, relu=False),
        )
        self.ConvLinear = BasicConv(6 * inter, channels, 1, relu=False)
        self.shortcut = BasicConv(channels, channels, 1, relu=False)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        branches = torch.cat([self.branch0(x), self.branch1(x), self.branch2(x)], dim=1)
        return self.relu(self.ConvLinear(branches) + self.shortcut(x))


class UltraLightOutputs(NamedTuple):
    """Raw outputs over all priors (head 0's first, each map row by row, priors innermost).

    Attributes:
        scores: ``(N, A, 2)`` softmax probabilities of background and face.
        locations: ``(N, A, 4)`` SSD offsets ``(dx, dy, dw, dh)`` from the priors.
    """

    scores: Tensor
    locations: Tensor


class UltraLightRFB(nn.Module):
    """The RFB-320 network; ``forward`` takes normalised RGB (see :func:`preprocess`).

    Any input size works (the priors follow it, :func:`priors`); the weights were trained for
    :data:`INPUT_SIZE`.
    """

    def __init__(self) -> None:
        super().__init__()
        c = BASE_CHANNELS
        self.base_net = nn.Sequential(
            conv_bn(3, c, 2),
            conv_dw(c, 2 * c, 1),
            conv_dw(2 * c, 2 * c, 2),
            conv_dw(2 * c, 2 * c, 1),
            conv_dw(2 * c, 4 * c, 2),
            conv_dw(4 * c, 4 * c, 1),
            conv_dw(4 * c, 4 * c, 1),
            BasicRFB(4 * c),
            conv_dw(4 * c, 8 * c, 2),
            conv_dw(8 * c, 8 * c, 1),
            conv_dw(8 * c, 8 * c, 1),
            conv_dw(8 * c, 16 * c, 2),
            conv_dw(16 * c, 16 * c, 1),
        )
        self.extras = nn.ModuleList(
            [
                nn.Sequential(
                    nn.Conv2d(16 * c, 4 * c, 1),
                    nn.ReLU(),
                    separable_conv(4 * c, 16 * c, stride=2),
                    nn.ReLU(),
                )
            ]
        )
        head_channels = (4 * c, 8 * c, 16 * c)
        anchors = [len(sizes) for sizes in MIN_BOXES]
        self.classification_headers = nn.ModuleList(
            [separable_conv(ch, n * 2) for ch, n in zip(head_channels, anchors[:3], strict=True)]
            + [nn.Conv2d(16 * c, anchors[3] * 2, 3, padding=1)]
        )
        self.regression_headers = nn.ModuleList(
            [separable_conv(ch, n * 4) for ch, n in zip(head_channels, anchors[:3], strict=True)]
            + [nn.Conv2d(16 * c, anchors[3] * 4, 3, padding=1)]
        )
        # base_net layers [start, end) before each of the first three heads.
        self._stages = ((0, 8), (8, 11), (11, 13))

    def forward(self, x: Tensor) -> UltraLightOutputs:
        logits, locations = [], []
        for head, (start, end) in enumerate(self._stages):
            for layer in self.base_net[start:end]:
                x = layer(x)
            logits.append(_flatten(self.classification_headers[head](x), 2))
            locations.append(_flatten(self.regression_headers[head](x), 4))
        x = self.extras[0](x)
        logits.append(_flatten(self.classification_headers[3](x), 2))
        locations.append(_flatten(self.regression_headers[3](x), 4))
        scores = F.softmax(torch.cat(logits, dim=1), dim=2)
        return UltraLightOutputs(scores, torch.cat(locations, dim=1))


def _flatten(head_output: Tensor, values: int) -> Tensor:
    """``(N, priors * values, h, w)`` -> ``(N, h * w * priors, values)``, rows then columns."""
    return head_output.permute(0, 2, 3, 1).reshape(head_output.shape[0], -1, values)


# --------------------------------------------------------------------------------------------------
# Priors and decoding
# --------------------------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _priors_cached(height: int, width: int) -> Tensor:
    rows = []
    for stride, sizes in zip(STRIDES, MIN_BOXES, strict=True):
        map_h, map_w = -(-height // stride), -(-width // stride)
        ys, xs = np.meshgrid(np.arange(map_h), np.arange(map_w), indexing="ij")
        centres = np.stack([(xs + 0.5) / map_w, (ys + 0.5) / map_h], axis=-1).reshape(-1, 1, 2)
        size = np.array([[s / width, s / height] for s in sizes]).reshape(1, -1, 2)
        centres, size = np.broadcast_arrays(centres, size)
        rows.append(np.concatenate([centres, size], axis=-1).reshape(-1, 4))
    return torch.from_numpy(np.clip(np.concatenate(rows), 0.0, 1.0).astype(np.float32))


def priors(input_size: tuple[int, int] = INPUT_SIZE) -> Tensor:
    """``(A, 4)`` priors ``(cx, cy, w, h)`` normalised by the ``(H, W)`` input, clipped to 1."""
    return _priors_cached(*input_size).clone()  # a cached inference tensor would break autograd


def decode_boxes(locations: Tensor, prior_boxes: Tensor) -> Tensor:
    """SSD offsets ``(N, A, 4)`` -> ``x0, y0, x1, y1`` boxes in the priors' (normalised) units."""
    centres = prior_boxes[:, :2] + locations[..., :2] * CENTER_VARIANCE * prior_boxes[:, 2:]
    sizes = prior_boxes[:, 2:] * torch.exp(locations[..., 2:] * SIZE_VARIANCE)
    return torch.cat([centres - sizes / 2, centres + sizes / 2], dim=-1)


# --------------------------------------------------------------------------------------------------
# Loading, differentiable scores, detection
# --------------------------------------------------------------------------------------------------


@keeps_random_state
def load_ultralight(path: str | Path | None = None) -> UltraLightRFB:
    """RFB-320 in eval mode with frozen weights, from ``version-RFB-320.pth``.

    Args:
        path: the state dict; by default ``<shared>/models/ultralight/version-RFB-320.pth``.

    Raises:
        ModelNotFoundError: the file is absent (the message says where to put it).
        WeightsFormatError: it is not the RFB-320 state dict.
    """
    state, found = read_state_dict(
        path, WEIGHTS_FOLDER, WEIGHTS_FILE, "Ultra-Light RFB-320", WEIGHTS_SOURCE
    )
    return load_into(UltraLightRFB(), state, found, "Ultra-Light RFB-320")


def preprocess(
    photos: Tensor, input_size: tuple[int, int] = INPUT_SIZE, antialias: bool = True
) -> Tensor:
    """RGB ``[0, 1]`` ``(N, 3, H, W)`` -> the network input: stretched to ``input_size``, 0-255,
    ``(x - 127) / 128``. Bilinear with half-pixel centres (OpenCV's convention); ``antialias``
    averages over the whole footprint when shrinking, so every pixel gets a gradient."""
    check_photos(photos, "Ultra-Light")
    if tuple(photos.shape[-2:]) != tuple(input_size):
        shrinking = photos.shape[-2] > input_size[0] or photos.shape[-1] > input_size[1]
        photos = F.interpolate(
            photos,
            size=input_size,
            mode="bilinear",
            align_corners=False,
            antialias=antialias and shrinking,
        )
    return (photos * 255.0 - IMAGE_MEAN) / IMAGE_SCALE


def face_scores(
    net: UltraLightRFB,
    photos: Tensor,
    input_size: tuple[int, int] = INPUT_SIZE,
    antialias: bool = True,
) -> DenseDetections:
    """Face probability and box of every prior, differentiable w.r.t. ``photos``.

    Args:
        net: from :func:`load_ultralight`.
        photos: ``(N, 3, H, W)`` RGB in ``[0, 1]``, any size (stretched to ``input_size``).

    Returns:
        :class:`DenseDetections` with ``scores`` ``(N, 4420)`` (softmax face probability),
        ``boxes`` ``(N, 4420, 4)`` in pixels of ``photos`` and no landmarks.
    """
    height, width = photos.shape[-2:]
    outputs = net(preprocess(photos, input_size, antialias))
    prior_boxes = priors(input_size).to(outputs.locations)
    scale = outputs.locations.new_tensor([width, height, width, height])
    boxes = decode_boxes(outputs.locations, prior_boxes) * scale
    return DenseDetections(outputs.scores[..., 1], boxes, None)


@torch.no_grad()
def detect_faces(
    net: UltraLightRFB,
    rgb_uint8: np.ndarray,
    threshold: float = 0.7,
    nms_iou: float = 0.3,
    input_size: tuple[int, int] = INPUT_SIZE,
) -> Detections:
    """Faces in a ``uint8`` RGB photo: boxes in its pixels, scores; ``landmarks`` is ``(K, 0, 2)``.

    Defaults are the original demo's (probability 0.7, hard NMS at IoU 0.3).
    """
    photo = photo_to_tensor(rgb_uint8).to(next(net.parameters()).device)
    candidates = face_scores(net, photo, input_size)
    return select_faces(candidates, tuple(photo.shape[-2:]), threshold, nms_iou)[0]


@register_detector
class UltraLightDetector(TorchPortDetector):
    """Ultra-Light-Fast-Generic-Face-Detector RFB-320 (SSD; the photo is stretched to 320x240)."""

    name = "ultralight"
    max_megapixels = 4.0
    threshold = 0.7
    nms_iou = 0.3
    load_network = staticmethod(load_ultralight)
    find = staticmethod(detect_faces)
    dense_scores = staticmethod(face_scores)
