"""YuNet (the detector behind OpenCV's ``FaceDetectorYN``) in PyTorch, differentiable.

YuNet (ShiqiYu/libfacedetection.train, Apache-2.0) is an anchor-free detector with 5 keypoints,
built almost entirely from "depthwise-pointwise units": a 1x1 convolution with bias followed by a
3x3 depthwise convolution with bias, then (except in the output heads) batch norm and ReLU. It
sees BGR pixels in 0-255 without normalisation, at any size that is a multiple of 32.

Architecture (``stage_channels`` differ between the two released sizes, see :data:`VARIANTS`):

* ``backbone.model0``: 3x3 conv /2 + BN + ReLU, then one unit (16 channels); 2x2 max-pool;
* ``backbone.model1-5``: two units each (the first keeps the width, the second sets it); a 2x2
  max-pool after ``model2``, ``model3`` and ``model4``, so ``model3``, ``model4`` and ``model5``
  give the stride 8, 16 and 32 levels (64 channels each);
* ``neck`` (top-down FPN): ``P5 = lateral2(C5)``, ``P4 = lateral1(C4 + up2(P5))``,
  ``P3 = lateral0(C3 + up2(P4))``, nearest-neighbour 2x upsampling, one unit per lateral;
* ``bbox_head``: per level, optionally a shared unit (YuNet-n), then four output units without
  BN/ReLU: ``cls`` (1), ``obj`` (1), ``bbox`` (4) and ``kps`` (10) per feature-map cell.

Decoding (OpenCV's ``FaceDetectorYN``): for the cell in row ``r`` and column ``c`` of stride
``s``, score ``= sqrt(sigmoid(cls) * sigmoid(obj))``, centre ``((c + dx) s, (r + dy) s)``, size
``(exp(dw) s, exp(dh) s)``, keypoint ``k`` at ``((c + kx_k) s, (r + ky_k) s)``. The module
reproduces ``yunet_{n,s}_dynamic.onnx`` (``tests/models/test_yunet.py``).

Example::

    net = load_yunet()                            # YuNet-n; load_yunet(variant="s") for YuNet-s
    faces = detect_faces(net, rgb_uint8)          # boxes, scores, landmarks (K, 5, 2)

    photo = photo_to_tensor(rgb_uint8).requires_grad_(True)  # (1, 3, H, W) RGB in [0, 1]
    candidates = face_scores(net, photo)          # one candidate per cell at strides 8, 16, 32
    candidates.scores.max().backward()            # photo.grad: (1, 3, H, W)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NamedTuple

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

WEIGHTS_FOLDER = "yunet"
WEIGHTS_SOURCE = "ShiqiYu/libfacedetection.train (weights/)"

#: Input height and width must be multiples of this; :func:`pad_to_multiple` pads.
INPUT_MULTIPLE = 32
STRIDES = (8, 16, 32)
FEATURE_CHANNELS = 64
NUM_KEYPOINTS = 5

Variant = Literal["n", "s"]


@dataclass(frozen=True)
class YuNetConfig:
    """One released YuNet size.

    Attributes:
        stage_channels: ``(in, out)`` widths of backbone stages 1-5 (stage 0 is 3 -> 16 -> 16).
        shared_head_convs: whether each level starts its head with a shared unit.
    """

    stage_channels: tuple[tuple[int, int], ...]
    shared_head_convs: bool


VARIANTS: dict[str, YuNetConfig] = {
    "n": YuNetConfig(((16, 64), (64, 64), (64, 64), (64, 64), (64, 64)), shared_head_convs=True),
    "s": YuNetConfig(((16, 32), (32, 64), (64, 64), (64, 64), (64, 64)), shared_head_convs=False),
}

# --------------------------------------------------------------------------------------------------
# Architecture
# --------------------------------------------------------------------------------------------------


class ConvDPUnit(nn.Module):
    """1x1 conv + 3x3 depthwise conv (both with bias), then BN + ReLU when ``with_bn_relu``."""

    def __init__(self, in_ch: int, out_ch: int, with_bn_relu: bool = True) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, 1)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1, groups=out_ch)
        self.with_bn_relu = with_bn_relu
        if with_bn_relu:
            self.bn = nn.BatchNorm2d(out_ch)
            self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv2(self.conv1(x))
        return self.relu(self.bn(x)) if self.with_bn_relu else x


class ConvHead(nn.Module):
    """The stem: 3x3 conv /2 + BN + ReLU, then one unit."""

    def __init__(self, in_ch: int, mid_ch: int, out_ch: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, mid_ch, 3, stride=2, padding=1)
        self.bn1 = nn.BatchNorm2d(mid_ch)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = ConvDPUnit(mid_ch, out_ch)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv2(self.relu(self.bn1(self.conv1(x))))


class Conv4LayerBlock(nn.Module):
    """Two units: ``in -> in`` then ``in -> out``."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.conv1 = ConvDPUnit(in_ch, in_ch)
        self.conv2 = ConvDPUnit(in_ch, out_ch)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv2(self.conv1(x))


class YuNetBackbone(nn.Module):
    """Stem and five blocks with 2x2 max-pools; returns the stride 8, 16 and 32 levels."""

    def __init__(self, stage_channels: tuple[tuple[int, int], ...]) -> None:
        super().__init__()
        self.model0 = ConvHead(3, 16, 16)
        self.model1, self.model2, self.model3, self.model4, self.model5 = (
            Conv4LayerBlock(in_ch, out_ch) for in_ch, out_ch in stage_channels
        )

    def forward(self, x: Tensor) -> list[Tensor]:
        x = F.max_pool2d(self.model0(x), 2)
        c3 = self.model3(F.max_pool2d(self.model2(self.model1(x)), 2))
        c4 = self.model4(F.max_pool2d(c3, 2))
        c5 = self.model5(F.max_pool2d(c4, 2))
        return [c3, c4, c5]


class YuNetNeck(nn.Module):
    """Top-down FPN: each level adds the 2x nearest upsampling of the coarser one, then a unit."""

    def __init__(self, channels: int = FEATURE_CHANNELS, levels: int = len(STRIDES)) -> None:
        super().__init__()
        self.lateral_convs = nn.ModuleList(ConvDPUnit(channels, channels) for _ in range(levels))

    def forward(self, levels: list[Tensor]) -> list[Tensor]:
        outputs = [self.lateral_convs[-1](levels[-1])]
        for i in reversed(range(len(levels) - 1)):
            upsampled = F.interpolate(outputs[0], scale_factor=2.0, mode="nearest")
            outputs.insert(0, self.lateral_convs[i](levels[i] + upsampled))
        return outputs


class YuNetOutputs(NamedTuple):
    """Raw outputs per level (strides 8, 16, 32), each ``(N, h * w, C)`` with cells row by row.

    Attributes:
        cls: ``C=1`` face logits (the ONNX export applies a sigmoid).
        obj: ``C=1`` objectness logits (likewise).
        bbox: ``C=4`` ``(dx, dy, log w, log h)`` in cells.
        kps: ``C=10`` ``(x, y)`` of 5 keypoints in cells, from the cell's top-left corner.
    """

    cls: list[Tensor]
    obj: list[Tensor]
    bbox: list[Tensor]
    kps: list[Tensor]


class YuNetHead(nn.Module):
    """Per level: optional shared unit, then ``cls``, ``bbox``, ``obj`` and ``kps`` units."""

    def __init__(self, shared_convs: bool, channels: int = FEATURE_CHANNELS) -> None:
        super().__init__()
        levels = len(STRIDES)
        if shared_convs:
            self.multi_level_share_convs = nn.ModuleList(
                nn.Sequential(ConvDPUnit(channels, channels)) for _ in range(levels)
            )
        else:
            self.multi_level_share_convs = None
        outputs = {"cls": 1, "bbox": 4, "obj": 1, "kps": 2 * NUM_KEYPOINTS}
        for name, out_ch in outputs.items():
            units = nn.ModuleList(ConvDPUnit(channels, out_ch, False) for _ in range(levels))
            setattr(self, f"multi_level_{name}", units)

    def forward(self, levels: list[Tensor]) -> YuNetOutputs:
        maps: dict[str, list[Tensor]] = {"cls": [], "obj": [], "bbox": [], "kps": []}
        for i, x in enumerate(levels):
            if self.multi_level_share_convs is not None:
                x = self.multi_level_share_convs[i](x)
            for name, values in maps.items():
                out = getattr(self, f"multi_level_{name}")[i](x)
                values.append(out.permute(0, 2, 3, 1).reshape(out.shape[0], -1, out.shape[1]))
        return YuNetOutputs(**maps)


class YuNet(nn.Module):
    """YuNet; ``forward`` takes BGR 0-255 ``(N, 3, H, W)`` with ``H``, ``W`` multiples of 32."""

    def __init__(self, variant: Variant = "n") -> None:
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"unknown YuNet variant {variant!r}; choose from {sorted(VARIANTS)}")
        config = VARIANTS[variant]
        self.variant = variant
        self.backbone = YuNetBackbone(config.stage_channels)
        self.neck = YuNetNeck()
        self.bbox_head = YuNetHead(config.shared_head_convs)

    def forward(self, x: Tensor) -> YuNetOutputs:
        height, width = x.shape[-2:]
        if x.ndim != 4 or x.shape[1] != 3 or height % INPUT_MULTIPLE or width % INPUT_MULTIPLE:
            raise ValueError(
                f"YuNet needs (N, 3, H, W) with H and W multiples of {INPUT_MULTIPLE}, got "
                f"{tuple(x.shape)}: use face_scores() or pad_to_multiple() first"
            )
        return self.bbox_head(self.neck(self.backbone(x)))


# --------------------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------------------


def _cell_grid(rows: int, cols: int, reference: Tensor) -> Tensor:
    """``(rows * cols, 2)`` ``(column, row)`` of every cell, row by row."""
    ys, xs = torch.meshgrid(
        torch.arange(rows, dtype=reference.dtype, device=reference.device),
        torch.arange(cols, dtype=reference.dtype, device=reference.device),
        indexing="ij",
    )
    return torch.stack([xs, ys], dim=-1).reshape(-1, 2)


def decode(outputs: YuNetOutputs, input_size: tuple[int, int]) -> DenseDetections:
    """All cells of all levels as :class:`DenseDetections` in input pixels (differentiable).

    Scores are ``sqrt(sigmoid(cls) * sigmoid(obj))``, computed in log space so that the gradient
    stays finite when both are tiny.
    """
    height, width = input_size
    scores, boxes, points = [], [], []
    for stride, cls, obj, bbox, kps in zip(STRIDES, *outputs, strict=True):
        grid = _cell_grid(-(-height // stride), -(-width // stride), bbox)
        log_score = 0.5 * (F.logsigmoid(cls[..., 0]) + F.logsigmoid(obj[..., 0]))
        scores.append(torch.exp(log_score))
        centres = (grid + bbox[..., :2]) * stride
        sizes = torch.exp(bbox[..., 2:]) * stride
        boxes.append(torch.cat([centres - sizes / 2, centres + sizes / 2], dim=-1))
        keypoints = kps.reshape(*kps.shape[:2], NUM_KEYPOINTS, 2)
        points.append((keypoints + grid[:, None, :]) * stride)
    return DenseDetections(torch.cat(scores, 1), torch.cat(boxes, 1), torch.cat(points, 1))


# --------------------------------------------------------------------------------------------------
# Loading, differentiable scores, detection
# --------------------------------------------------------------------------------------------------


@keeps_random_state
def load_yunet(
    path: str | Path | None = None, variant: Variant = "n", channels_last: bool = True
) -> YuNet:
    """YuNet in eval mode with frozen weights.

    Args:
        path: the checkpoint (mmdetection ``.pth`` with a ``state_dict``, or a bare state dict);
            by default ``<shared>/models/yunet/yunet_<variant>.pth``.
        variant: ``"n"`` (the model OpenCV ships) or ``"s"``; must match the file.
        channels_last: store the weights NHWC, which makes oneDNN's depthwise convolutions about
            twice as fast on a CPU (outputs and gradients then come back with NHWC strides).

    Raises:
        ModelNotFoundError: the file is absent (the message says where to put it).
        WeightsFormatError: it is not a YuNet-``variant`` state dict.
    """
    filename = f"yunet_{variant}.pth"
    model = f"YuNet-{variant}"
    state, found = read_state_dict(path, WEIGHTS_FOLDER, filename, model, WEIGHTS_SOURCE)
    net = load_into(YuNet(variant), state, found, model)
    return net.to(memory_format=torch.channels_last) if channels_last else net


def pad_to_multiple(x: Tensor, multiple: int = INPUT_MULTIPLE) -> Tensor:
    """Zero-pad ``(N, C, H, W)`` right and bottom to multiples of ``multiple`` (as OpenCV does)."""
    pad_h = -x.shape[-2] % multiple
    pad_w = -x.shape[-1] % multiple
    return F.pad(x, (0, pad_w, 0, pad_h)) if pad_h or pad_w else x


def preprocess(photos: Tensor) -> Tensor:
    """RGB ``[0, 1]`` ``(N, 3, H, W)`` -> YuNet's input: BGR 0-255, zero-padded to 32-multiples."""
    check_photos(photos, "YuNet")
    return pad_to_multiple(rgb_to_bgr_255(photos))


def face_scores(net: YuNet, photos: Tensor) -> DenseDetections:
    """Face probability, box and 5 keypoints of every feature-map cell, differentiable.

    Args:
        net: from :func:`load_yunet`.
        photos: ``(N, 3, H, W)`` RGB in ``[0, 1]``, any size (padded, never resized).

    Returns:
        :class:`DenseDetections` with ``scores`` ``(N, A)``, ``boxes`` ``(N, A, 4)`` and
        ``landmarks`` ``(N, A, 5, 2)`` in pixels of ``photos``, where
        ``A = sum(ceil(H / s) * ceil(W / s) for s in (8, 16, 32))`` (cells in the padding
        included).
    """
    x = preprocess(photos)
    return decode(net(x), tuple(x.shape[-2:]))


@torch.no_grad()
def detect_faces(
    net: YuNet, rgb_uint8: np.ndarray, threshold: float = 0.7, nms_iou: float = 0.3
) -> Detections:
    """Faces in a ``uint8`` RGB photo: boxes in its pixels, scores and 5 keypoints each.

    OpenCV's ``FaceDetectorYN`` pipeline (zero padding, NMS at IoU 0.3) at the photo's own size.
    The threshold is below OpenCV's demo's 0.9, which misses one of dlib's 43 labelled faces;
    at 0.7 YuNet-n finds all 43, and the faces it adds are mostly real unlabelled ones.
    """
    photo = photo_to_tensor(rgb_uint8).to(next(net.parameters()).device)
    candidates = face_scores(net, photo)
    return select_faces(candidates, tuple(photo.shape[-2:]), threshold, nms_iou)[0]


@register_detector
class YuNetDetector(TorchPortDetector):
    """YuNet-n (OpenCV's ``FaceDetectorYN`` model) with 5 keypoints, at the photo's own size."""

    name = "yunet"
    max_megapixels = 4.0
    threshold = 0.7
    nms_iou = 0.3
    load_network = staticmethod(load_yunet)
    find = staticmethod(detect_faces)
    dense_scores = staticmethod(face_scores)
