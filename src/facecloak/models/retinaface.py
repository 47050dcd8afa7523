"""RetinaFace with a MobileNet-0.25 backbone (biubug6/Pytorch_Retinaface release) in PyTorch.

A 433 k-parameter single-stage detector with 5 landmarks (MIT). It sees BGR pixels in 0-255
minus the means ``(104, 117, 123)``, at any size, and scores two anchors per cell at strides 8,
16 and 32. The weights file is a plain state dict (saved on a GPU; read on the CPU here).

Architecture (every convolution except the heads' has no bias and is followed by a batch norm;
"leaky" is LeakyReLU with slope 0.1):

* ``body.stage1``: 3x3 conv /2 (3 -> 8, leaky), then depthwise-separable blocks (3x3 depthwise +
  BN + leaky, 1x1 + BN + leaky) 8 -> 16 -> 32 (/2) -> 32 -> 64 (/2) -> 64: stride 8;
* ``body.stage2``: separable blocks 64 -> 128 (/2), then five 128 -> 128: stride 16;
* ``body.stage3``: separable blocks 128 -> 256 (/2) -> 256: stride 32;
* ``fpn``: 1x1 conv + BN + leaky to 64 channels per level (``output1-3``); top-down, each finer
  level adds the nearest-neighbour upsampling of the coarser one and is smoothed by a 3x3 conv +
  BN + leaky (``merge2`` at stride 16, then ``merge1`` at stride 8);
* ``ssh1-3`` (SSH context modules): a 3x3 branch (32 channels) and 5x5- and 7x7-equivalent branches
  of stacked 3x3 convs (16 each), concatenated, ReLU;
* ``ClassHead`` / ``BboxHead`` / ``LandmarkHead``: one 1x1 conv per level giving, for each of 2
  anchors, 2 class logits, 4 box offsets and 10 landmark offsets.

Anchors are ``min_sizes`` ``(16, 32)``, ``(64, 128)``, ``(256, 512)`` px at the cell centres of
the ``ceil(H / s) x ceil(W / s)`` maps; offsets decode SSD-style with variances 0.1 and 0.2.

Example::

    net = load_retinaface()
    faces = detect_faces(net, rgb_uint8)          # boxes, scores, landmarks (K, 5, 2)

    photo = photo_to_tensor(rgb_uint8).requires_grad_(True)  # (1, 3, H, W) RGB in [0, 1]
    candidates = face_scores(net, photo)          # 2 anchors per cell at strides 8, 16, 32
    candidates.scores.max().backward()            # photo.grad: (1, 3, H, W)
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
    rgb_to_bgr_255,
    select_faces,
)
from facecloak.models.detector import TorchPortDetector, register_detector
from facecloak.models.seeding import keeps_random_state

logger = logging.getLogger(__name__)

WEIGHTS_FOLDER = "retinaface"
WEIGHTS_FILE = "mobilenet0.25_Final.pth"
WEIGHTS_SOURCE = "biubug6/Pytorch_Retinaface (the mobilenet0.25_Final.pth release)"

#: BGR means subtracted from 0-255 pixels.
BGR_MEAN = (104.0, 117.0, 123.0)
MIN_SIZES: tuple[tuple[int, ...], ...] = ((16, 32), (64, 128), (256, 512))
STRIDES = (8, 16, 32)
CENTER_VARIANCE = 0.1
SIZE_VARIANCE = 0.2
NUM_LANDMARKS = 5
FPN_CHANNELS = 64
LEAKY_SLOPE = 0.1

# --------------------------------------------------------------------------------------------------
# Architecture
# --------------------------------------------------------------------------------------------------


def conv_bn(
    in_ch: int, out_ch: int, stride: int = 1, kernel: int = 3, leaky: float | None = LEAKY_SLOPE
) -> nn.Sequential:
    """Conv (no bias) + BN, then LeakyReLU with slope ``leaky`` unless it is ``None``."""
    layers: list[nn.Module] = [
        nn.Conv2d(in_ch, out_ch, kernel, stride, kernel // 2, bias=False),
        nn.BatchNorm2d(out_ch),
    ]
    if leaky is not None:
        layers.append(nn.LeakyReLU(negative_slope=leaky, inplace=True))
    return nn.Sequential(*layers)


def conv_dw(in_ch: int, out_ch: int, stride: int) -> nn.Sequential:
    """Depthwise 3x3 + BN + leaky, then pointwise 1x1 + BN + leaky (no biases)."""
    return nn.Sequential(
        nn.Conv2d(in_ch, in_ch, 3, stride, 1, groups=in_ch, bias=False),
        nn.BatchNorm2d(in_ch),
        nn.LeakyReLU(negative_slope=LEAKY_SLOPE, inplace=True),
        nn.Conv2d(in_ch, out_ch, 1, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.LeakyReLU(negative_slope=LEAKY_SLOPE, inplace=True),
    )


class MobileNetV1Body(nn.Module):
    """MobileNet-0.25 without its classifier; returns the stride 8, 16 and 32 stages."""

    def __init__(self) -> None:
        super().__init__()
        self.stage1 = nn.Sequential(
            conv_bn(3, 8, stride=2),
            conv_dw(8, 16, 1),
            conv_dw(16, 32, 2),
            conv_dw(32, 32, 1),
            conv_dw(32, 64, 2),
            conv_dw(64, 64, 1),
        )
        self.stage2 = nn.Sequential(conv_dw(64, 128, 2), *(conv_dw(128, 128, 1) for _ in range(5)))
        self.stage3 = nn.Sequential(conv_dw(128, 256, 2), conv_dw(256, 256, 1))

    def forward(self, x: Tensor) -> list[Tensor]:
        c3 = self.stage1(x)
        c4 = self.stage2(c3)
        return [c3, c4, self.stage3(c4)]


class FPN(nn.Module):
    """Lateral 1x1 convs to 64 channels, top-down nearest upsampling, 3x3 merge convs."""

    def __init__(self, in_channels: tuple[int, ...] = (64, 128, 256)) -> None:
        super().__init__()
        self.output1, self.output2, self.output3 = (
            conv_bn(c, FPN_CHANNELS, kernel=1) for c in in_channels
        )
        self.merge1 = conv_bn(FPN_CHANNELS, FPN_CHANNELS)
        self.merge2 = conv_bn(FPN_CHANNELS, FPN_CHANNELS)

    def forward(self, levels: list[Tensor]) -> list[Tensor]:
        out1, out2, out3 = self.output1(levels[0]), self.output2(levels[1]), self.output3(levels[2])
        out2 = self.merge2(out2 + F.interpolate(out3, size=out2.shape[-2:], mode="nearest"))
        out1 = self.merge1(out1 + F.interpolate(out2, size=out1.shape[-2:], mode="nearest"))
        return [out1, out2, out3]


class SSH(nn.Module):
    """Single-stage headless context module: 3x3, 5x5 and 7x7 receptive fields, concatenated."""

    def __init__(self, in_ch: int = FPN_CHANNELS, out_ch: int = FPN_CHANNELS) -> None:
        super().__init__()
        self.conv3X3 = conv_bn(in_ch, out_ch // 2, leaky=None)
        self.conv5X5_1 = conv_bn(in_ch, out_ch // 4)
        self.conv5X5_2 = conv_bn(out_ch // 4, out_ch // 4, leaky=None)
        self.conv7X7_2 = conv_bn(out_ch // 4, out_ch // 4)
        self.conv7x7_3 = conv_bn(out_ch // 4, out_ch // 4, leaky=None)

    def forward(self, x: Tensor) -> Tensor:
        branch5_1 = self.conv5X5_1(x)
        branch7 = self.conv7x7_3(self.conv7X7_2(branch5_1))
        return F.relu(torch.cat([self.conv3X3(x), self.conv5X5_2(branch5_1), branch7], dim=1))


class AnchorHead(nn.Module):
    """A 1x1 conv giving ``values`` numbers per anchor, as ``(N, h * w * anchors, values)``."""

    def __init__(self, values: int, anchors: int = 2, in_ch: int = FPN_CHANNELS) -> None:
        super().__init__()
        self.values = values
        self.conv1x1 = nn.Conv2d(in_ch, anchors * values, 1)

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv1x1(x).permute(0, 2, 3, 1)
        return out.reshape(out.shape[0], -1, self.values)


class RetinaFaceOutputs(NamedTuple):
    """Raw outputs over all anchors (stride 8 first, cells row by row, anchors innermost).

    Attributes:
        logits: ``(N, A, 2)`` background and face logits (softmax gives the probabilities).
        locations: ``(N, A, 4)`` SSD offsets from the anchors.
        landmarks: ``(N, A, 10)`` landmark offsets from the anchor centres.
    """

    logits: Tensor
    locations: Tensor
    landmarks: Tensor


class RetinaFace(nn.Module):
    """RetinaFace-MobileNet-0.25; ``forward`` takes BGR 0-255 minus :data:`BGR_MEAN`, any size."""

    def __init__(self) -> None:
        super().__init__()
        self.body = MobileNetV1Body()
        self.fpn = FPN()
        self.ssh1, self.ssh2, self.ssh3 = SSH(), SSH(), SSH()
        levels = len(STRIDES)
        self.ClassHead = nn.ModuleList(AnchorHead(2) for _ in range(levels))
        self.BboxHead = nn.ModuleList(AnchorHead(4) for _ in range(levels))
        self.LandmarkHead = nn.ModuleList(AnchorHead(2 * NUM_LANDMARKS) for _ in range(levels))

    def forward(self, x: Tensor) -> RetinaFaceOutputs:
        levels = self.fpn(self.body(x))
        contexts = (self.ssh1, self.ssh2, self.ssh3)
        features = [ssh(level) for ssh, level in zip(contexts, levels, strict=True)]
        return RetinaFaceOutputs(
            logits=_run_heads(self.ClassHead, features),
            locations=_run_heads(self.BboxHead, features),
            landmarks=_run_heads(self.LandmarkHead, features),
        )


def _run_heads(heads: nn.ModuleList, features: list[Tensor]) -> Tensor:
    """Each level's head on its features, concatenated over levels along the anchor axis."""
    return torch.cat([head(f) for head, f in zip(heads, features, strict=True)], dim=1)


# --------------------------------------------------------------------------------------------------
# Anchors and decoding
# --------------------------------------------------------------------------------------------------


@lru_cache(maxsize=16)
def _anchors_cached(height: int, width: int) -> Tensor:
    rows = []
    for stride, sizes in zip(STRIDES, MIN_SIZES, strict=True):
        map_h, map_w = -(-height // stride), -(-width // stride)
        ys, xs = np.meshgrid(np.arange(map_h), np.arange(map_w), indexing="ij")
        centres = (np.stack([xs, ys], axis=-1).reshape(-1, 1, 2) + 0.5) * stride
        size = np.array([[s, s] for s in sizes], dtype=np.float64).reshape(1, -1, 2)
        centres, size = np.broadcast_arrays(centres, size)
        rows.append(np.concatenate([centres, size], axis=-1).reshape(-1, 4))
    return torch.from_numpy(np.concatenate(rows).astype(np.float32))


def anchors(input_size: tuple[int, int]) -> Tensor:
    """``(A, 4)`` anchors ``(cx, cy, w, h)`` in pixels for an ``(H, W)`` input."""
    return _anchors_cached(*input_size).clone()  # a cached inference tensor would break autograd


def decode(outputs: RetinaFaceOutputs, input_size: tuple[int, int]) -> DenseDetections:
    """All anchors as :class:`DenseDetections` in input pixels (differentiable)."""
    priors = anchors(input_size).to(outputs.locations)
    centres, sizes = priors[:, :2], priors[:, 2:]
    locations = outputs.locations
    box_centres = centres + locations[..., :2] * CENTER_VARIANCE * sizes
    box_sizes = sizes * torch.exp(locations[..., 2:] * SIZE_VARIANCE)
    boxes = torch.cat([box_centres - box_sizes / 2, box_centres + box_sizes / 2], dim=-1)
    offsets = outputs.landmarks.reshape(*outputs.landmarks.shape[:2], NUM_LANDMARKS, 2)
    points = centres[:, None, :] + offsets * CENTER_VARIANCE * sizes[:, None, :]
    scores = F.softmax(outputs.logits, dim=-1)[..., 1]
    return DenseDetections(scores, boxes, points)


# --------------------------------------------------------------------------------------------------
# Loading, differentiable scores, detection
# --------------------------------------------------------------------------------------------------


@keeps_random_state
def load_retinaface(path: str | Path | None = None, channels_last: bool = True) -> RetinaFace:
    """RetinaFace-MobileNet-0.25 in eval mode with frozen weights, from ``mobilenet0.25_Final.pth``.

    Args:
        path: the state dict; by default ``<shared>/models/retinaface/mobilenet0.25_Final.pth``.
        channels_last: store the weights NHWC, which makes oneDNN's depthwise convolutions about
            1.6x faster on a CPU (outputs and gradients then come back with NHWC strides).

    Raises:
        ModelNotFoundError: the file is absent (the message says where to put it).
        WeightsFormatError: it is not this model's state dict.
    """
    state, found = read_state_dict(
        path, WEIGHTS_FOLDER, WEIGHTS_FILE, "RetinaFace-MobileNet-0.25", WEIGHTS_SOURCE
    )
    net = load_into(RetinaFace(), state, found, "RetinaFace-MobileNet-0.25")
    return net.to(memory_format=torch.channels_last) if channels_last else net


def preprocess(photos: Tensor) -> Tensor:
    """RGB ``[0, 1]`` ``(N, 3, H, W)`` -> RetinaFace's input: BGR 0-255 minus :data:`BGR_MEAN`."""
    check_photos(photos, "RetinaFace")
    return rgb_to_bgr_255(photos) - photos.new_tensor(BGR_MEAN).view(1, 3, 1, 1)


def face_scores(net: RetinaFace, photos: Tensor) -> DenseDetections:
    """Face probability, box and 5 landmarks of every anchor, differentiable w.r.t. ``photos``.

    Args:
        net: from :func:`load_retinaface`.
        photos: ``(N, 3, H, W)`` RGB in ``[0, 1]``, any size (never resized).

    Returns:
        :class:`DenseDetections` with ``scores`` ``(N, A)`` (softmax face probability), ``boxes``
        ``(N, A, 4)`` and ``landmarks`` ``(N, A, 5, 2)`` in pixels of ``photos``, where
        ``A = 2 * sum(ceil(H / s) * ceil(W / s) for s in (8, 16, 32))``.
    """
    return decode(net(preprocess(photos)), tuple(photos.shape[-2:]))


@torch.no_grad()
def detect_faces(
    net: RetinaFace, rgb_uint8: np.ndarray, threshold: float = 0.6, nms_iou: float = 0.4
) -> Detections:
    """Faces in a ``uint8`` RGB photo at its own size: boxes in its pixels, scores, 5 landmarks.

    Defaults follow the release's demo (NMS at IoU 0.4, faces shown above 0.6).
    """
    photo = photo_to_tensor(rgb_uint8).to(next(net.parameters()).device)
    candidates = face_scores(net, photo)
    return select_faces(candidates, tuple(photo.shape[-2:]), threshold, nms_iou)[0]


@register_detector
class RetinaFaceDetector(TorchPortDetector):
    """RetinaFace-MobileNet-0.25 with 5 landmarks, at the photo's own size."""

    name = "retinaface"
    max_megapixels = 4.0
    threshold = 0.6
    nms_iou = 0.4
    load_network = staticmethod(load_retinaface)
    find = staticmethod(detect_faces)
    dense_scores = staticmethod(face_scores)
