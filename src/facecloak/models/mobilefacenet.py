"""MobileFaceNet (ReLU6 inverted-residual variant, ArcFace loss, MS1M) in PyTorch.

A second face recognizer, independent of dlib's ResNet, for ensembles and transfer measurement.
The weights are the state dict of foamliu/MobileFaceNet (``mobilefacenet.pt``, 307 tensors, 1.0 M
parameters); they are research-only and never shipped with facecloak: :func:`load_mobilefacenet`
reads them from the shared folder or from a path you give.

Architecture, from input to output (``N x C x H x W``; every convolution but the last has no bias
and is followed by a batch norm):

* input: ``(N, 3, 112, 112)`` RGB in [0, 1], normalised with the ImageNet mean / std;
* ``conv1``: 3x3 conv /2, 3 -> 64, ReLU6: 112 -> 56;
* ``dw_conv``: depthwise 3x3 (BN, ReLU) then pointwise 1x1 (BN, ReLU), 64 -> 64 (plain ReLU here);
* ``features``: 15 MobileNetV2 bottlenecks (1x1 expand + ReLU6, 3x3 depthwise + ReLU6, linear 1x1
  projection), with a residual connection wherever the stride is 1 and the width is unchanged:

  ====== ========= ============ ==================== ==========
  blocks expansion out channels stride (first, others) output
  ====== ========= ============ ==================== ==========
  0-4    2         64           2, 1                 64 x 28x28
  5      4         128          2                    128 x 14x14
  6-11   2         128          1, 1                 128 x 14x14
  12     4         128          2                    128 x 7x7
  13-14  2         128          1, 1                 128 x 7x7
  ====== ========= ============ ==================== ==========

* ``conv2``: 1x1 conv 128 -> 512, ReLU6;
* ``gdconv``: global depthwise 7x7 conv (no padding) + BN: 7x7 -> 1x1;
* ``conv3``: 1x1 conv 512 -> 128 with bias, then ``bn`` (batch norm over the 128 outputs).

``forward`` sums the embeddings of the face and of its mirror image and L2-normalises them; two
faces are compared by cosine distance (:meth:`MobileFaceNet.distance`, ``1 - cos``).
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from facecloak.errors import FacecloakError, ModelNotFoundError
from facecloak.faces.face import Face
from facecloak.models.recognizer import (
    Recognizer,
    five_points,
    register_recognizer,
    sample_chips,
    shared_weights,
    template_transforms,
)

logger = logging.getLogger(__name__)

INPUT_SIZE = 112
EMBEDDING_SIZE = 128
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

WEIGHTS_FOLDER = "mobilefacenet"
WEIGHTS_FILE = "mobilefacenet.pt"

# Cosine similarity (of flip-summed embeddings) above which two faces are the same person: the
# best-accuracy threshold on LFW pairs built from the 310 identities with >= 5 photos that do not
# appear in View-1 devtest (2,000 same + 2,000 different pairs, seed 0, our CenterFace + ArcFace
# alignment), so the devtest pairs stay a held-out check. See benchmarks/mobilefacenet_lfw.py.
COSINE_THRESHOLD = 0.28

# Bottleneck stages: (expansion, output channels, number of blocks, stride of the first block).
_BOTTLENECK_STAGES: tuple[tuple[int, int, int, int], ...] = (
    (2, 64, 5, 2),
    (4, 128, 1, 2),
    (2, 128, 6, 1),
    (4, 128, 1, 2),
    (2, 128, 2, 1),
)
_STEM_CHANNELS = 64
_HEAD_CHANNELS = 512
_HEAD_KERNEL = 7


class MobileFaceNetFormatError(FacecloakError, ValueError):
    """A weight file is not a MobileFaceNet state dict of the expected layout."""


def conv_bn_relu6(
    in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, groups: int = 1
) -> nn.Sequential:
    """Convolution (``.0``, no bias, "same" padding), batch norm (``.1``), ReLU6 (``.2``).

    >>> conv_bn_relu6(3, 64, kernel_size=3, stride=2)(torch.rand(1, 3, 112, 112)).shape
    torch.Size([1, 64, 56, 56])
    """
    return nn.Sequential(
        nn.Conv2d(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=kernel_size // 2,
            groups=groups,
            bias=False,
        ),
        nn.BatchNorm2d(out_channels),
        nn.ReLU6(),
    )


class DepthwiseSeparableConv(nn.Module):
    """3x3 depthwise conv, BN, ReLU, then 1x1 pointwise conv, BN, ReLU (stride 1).

    >>> DepthwiseSeparableConv(64)(torch.rand(1, 64, 56, 56)).shape
    torch.Size([1, 64, 56, 56])
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(channels, channels, 3, padding=1, groups=channels, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.pointwise = nn.Conv2d(channels, channels, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn1(self.depthwise(x)))
        return F.relu(self.bn2(self.pointwise(x)))


class Bottleneck(nn.Module):
    """MobileNetV2 inverted residual: expand (1x1), filter (3x3 depthwise), project (1x1, linear).

    ``conv`` holds, in order: expansion block, depthwise block, projection conv, projection BN.

    >>> Bottleneck(64, 128, stride=2, expansion=4)(torch.rand(1, 64, 28, 28)).shape
    torch.Size([1, 128, 14, 14])
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int, expansion: int) -> None:
        super().__init__()
        hidden = in_channels * expansion
        self.conv = nn.Sequential(
            conv_bn_relu6(in_channels, hidden, kernel_size=1),
            conv_bn_relu6(hidden, hidden, kernel_size=3, stride=stride, groups=hidden),
            nn.Conv2d(hidden, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
        )
        self.has_residual = stride == 1 and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(x)
        return x + out if self.has_residual else out


class GlobalDepthwiseConv(nn.Module):
    """A depthwise conv as large as the feature map (no padding: 7x7 -> 1x1), then BN.

    >>> GlobalDepthwiseConv(512, 7).eval()(torch.rand(1, 512, 7, 7)).shape
    torch.Size([1, 512, 1, 1])
    """

    def __init__(self, channels: int, kernel_size: int) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(channels, channels, kernel_size, groups=channels, bias=False)
        self.bn = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.depthwise(x))


def _bottleneck_blocks() -> nn.Sequential:
    blocks = []
    channels = _STEM_CHANNELS
    for expansion, out_channels, count, first_stride in _BOTTLENECK_STAGES:
        for index in range(count):
            stride = first_stride if index == 0 else 1
            blocks.append(Bottleneck(channels, out_channels, stride, expansion))
            channels = out_channels
    return nn.Sequential(*blocks)


@register_recognizer
class MobileFaceNet(Recognizer):
    """MobileFaceNet: ArcFace-aligned 112x112 faces -> unit 128-d embeddings compared by cosine.

    :meth:`align` warps each face's five points (eye centres, nose tip, mouth corners) onto the
    ArcFace template (:mod:`facecloak.faces.align_arcface`); ``forward`` takes those chips
    ``(N, 3, 112, 112)`` in [0, 1] and returns ``normalise(f(x) + f(mirrored x))``, as the model
    is meant to be used (:meth:`raw` is the bare network ``f``). Two faces are the same
    person when ``distance(a, b) = 1 - cos(a, b)`` is below ``threshold``.

    After :meth:`load` the weights are frozen and the module is in eval mode.

    >>> model = MobileFaceNet().eval()
    >>> model(torch.rand(2, 3, 112, 112)).norm(dim=1).round().tolist()
    [1.0, 1.0]
    >>> round(model.threshold, 2), model.metric
    (0.72, 'cosine')
    """

    name = "mobilefacenet"
    chip_size = (INPUT_SIZE, INPUT_SIZE)
    embedding_size = EMBEDDING_SIZE
    metric = "cosine"
    threshold = 1.0 - COSINE_THRESHOLD
    channels_last = True

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = conv_bn_relu6(3, _STEM_CHANNELS, kernel_size=3, stride=2)
        self.dw_conv = DepthwiseSeparableConv(_STEM_CHANNELS)
        self.features = _bottleneck_blocks()
        last_channels = _BOTTLENECK_STAGES[-1][1]
        self.conv2 = conv_bn_relu6(last_channels, _HEAD_CHANNELS, kernel_size=1)
        self.gdconv = GlobalDepthwiseConv(_HEAD_CHANNELS, _HEAD_KERNEL)
        self.conv3 = nn.Conv2d(_HEAD_CHANNELS, EMBEDDING_SIZE, 1)
        self.bn = nn.BatchNorm1d(EMBEDDING_SIZE)
        # Not in the state dict: the weights were trained on inputs normalised outside the network.
        self.register_buffer("input_mean", _channel_vector(IMAGENET_MEAN), persistent=False)
        self.register_buffer("input_std", _channel_vector(IMAGENET_STD), persistent=False)

    @classmethod
    def default_path(cls) -> Path:
        return default_weights_path()

    @classmethod
    def load(cls, path: str | Path | None = None) -> MobileFaceNet:
        return load_mobilefacenet(path)

    def chip_transforms(self, rgb: np.ndarray, faces: Sequence[Face]) -> np.ndarray:
        """ArcFace-template affines from each face's five points (detector keypoints, else
        dlib's 68-point predictor)."""
        from facecloak.faces.align_arcface import arcface_template

        return template_transforms(five_points(rgb, faces), arcface_template(INPUT_SIZE))

    def warp(
        self, photo: torch.Tensor, transforms: np.ndarray, offset: tuple[int, int] = (0, 0)
    ) -> torch.Tensor:
        return sample_chips(photo, transforms, self.chip_size, offset)

    def _check_input(self, x: torch.Tensor) -> None:
        expected = (3, *self.chip_size)
        if x.ndim != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(
                f"MobileFaceNet expects aligned faces of shape (N, 3, {INPUT_SIZE}, "
                f"{INPUT_SIZE}), got {tuple(x.shape)}"
            )
        if not x.is_floating_point():
            raise ValueError(
                f"MobileFaceNet expects float RGB in [0, 1], got {x.dtype}; divide uint8 by 255"
            )

    def raw(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, 112, 112)`` RGB in [0, 1] -> ``(N, 128)`` raw network outputs (no flip, no
        normalisation: what the ONNX export computes)."""
        self._check_input(x)
        x = (x.to(self.input_mean.dtype) - self.input_mean) / self.input_std
        x = self.dw_conv(self.conv1(x))
        x = self.features(x)
        x = self.gdconv(self.conv2(x))
        return self.bn(self.conv3(x).flatten(1))

    def forward(self, x: torch.Tensor, flip: bool = True) -> torch.Tensor:
        """Unit-length ``(N, 128)`` embeddings; with ``flip``, of ``f(x) + f(mirrored x)``."""
        if flip:
            both = self.raw(torch.cat([x, x.flip(-1)]))
            embeddings = both[: len(x)] + both[len(x) :]
        else:
            embeddings = self.raw(x)
        return F.normalize(embeddings, dim=-1)


def _channel_vector(values: tuple[float, float, float]) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32).view(1, 3, 1, 1)


def default_weights_path() -> Path:
    """Where :func:`load_mobilefacenet` looks by default (the file may not exist).

    >>> default_weights_path().parts[-3:]
    ('models', 'mobilefacenet', 'mobilefacenet.pt')
    """
    return shared_weights(WEIGHTS_FOLDER, WEIGHTS_FILE)


def load_mobilefacenet(path: str | Path | None = None) -> MobileFaceNet:
    """MobileFaceNet in eval mode with frozen weights, read from a ``mobilefacenet.pt`` state dict.

    Args:
        path: the state dict file; by default ``<shared>/models/mobilefacenet/mobilefacenet.pt``
            (``<shared>`` is ``$FACECLOAK_SHARED``, else ``shared/`` beside the project folder).

    Raises:
        ModelNotFoundError: the file does not exist (the message says where it looked).
        MobileFaceNetFormatError: the file is not a MobileFaceNet state dict.

    Example::

        model = load_mobilefacenet()  # or load_mobilefacenet("/data/mobilefacenet.pt")
        model.chip_size, model.threshold  # ((112, 112), 0.72)
    """
    path = Path(path) if path is not None else default_weights_path()
    if not path.is_file():
        raise ModelNotFoundError(
            f"MobileFaceNet weights not found at {path}: put foamliu/MobileFaceNet's "
            f"{WEIGHTS_FILE} (state dict) there, set FACECLOAK_SHARED to the folder holding "
            f"models/{WEIGHTS_FOLDER}/{WEIGHTS_FILE}, or pass its path explicitly"
        )
    started = time.perf_counter()
    model = MobileFaceNet()
    model.load_state_dict(_read_state_dict(path))
    fold_batchnorm(model.freeze())
    logger.info("loaded MobileFaceNet from %s in %.2f s", path, time.perf_counter() - started)
    return model


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a file that is not a checkpoint
        raise MobileFaceNetFormatError(
            f"{path}: cannot read it as a PyTorch state dict ({exc})"
        ) from exc
    if not isinstance(state, dict):
        raise MobileFaceNetFormatError(
            f"{path}: expected a state dict, found a {type(state).__name__}"
        )
    _check_layout(path, state)
    return state


def _check_layout(path: Path, state: dict[str, torch.Tensor]) -> None:
    """Name missing, unexpected and mis-shaped tensors in one message, before loading."""
    expected = MobileFaceNet().state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    misshaped = [
        f"{key} {tuple(state[key].shape)} (expected {tuple(value.shape)})"
        for key, value in expected.items()
        if key in state and tuple(state[key].shape) != tuple(value.shape)
    ]
    if missing or unexpected or misshaped:
        details = "; ".join(
            f"{label}: {', '.join(items[:5])}{' ...' if len(items) > 5 else ''}"
            for label, items in (
                ("missing", missing),
                ("unexpected", unexpected),
                ("wrong shape", misshaped),
            )
            if items
        )
        raise MobileFaceNetFormatError(
            f"{path}: not the MobileFaceNet state dict facecloak expects ({details})"
        )


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """In place: every ``BatchNorm2d`` merged into the convolution registered just before it in
    the same parent (in this network each follows its convolution), left as ``Identity``. The
    eval-mode output is the same, with about a tenth less work forward and backward. Returns
    ``model``.

    >>> model = MobileFaceNet().eval()
    >>> x = torch.rand(1, 3, 112, 112)
    >>> before = model.raw(x)
    >>> torch.allclose(fold_batchnorm(model).raw(x), before, atol=1e-4)
    True
    """
    for parent in list(model.modules()):
        children = list(parent.named_children())
        for (conv_name, conv), (norm_name, norm) in itertools.pairwise(children):
            if isinstance(conv, nn.Conv2d) and isinstance(norm, nn.BatchNorm2d):
                setattr(parent, conv_name, fuse_conv_bn_eval(conv, norm).requires_grad_(False))
                setattr(parent, norm_name, nn.Identity())
    return model
