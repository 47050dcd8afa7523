"""dlib's ResNet face recognizer (``dlib_face_recognition_resnet_model_v1.dat``) in PyTorch.

The network is dlib's ``anet_type`` from ``examples/dnn_face_recognition_ex.cpp`` (the same one is
compiled into dlib's Python module). From input to output:

* input: ``(pixel - mean_c) / 256`` per channel, pixels in 0..255, means stored in the file;
* ``con 32 7x7 /2`` (no padding: dlib pads only stride-1 convolutions), affine, relu,
  ``max_pool 3x3 /2`` (no padding): 150 -> 72 -> 35;
* residual blocks ``ares`` (two 3x3 convolutions, each followed by an affine) with 32 (x3),
  64 (down + x3), 128 (down + x2), 256 (down + x2), 256 (down) filters;
* ``ares_down`` convolves with stride 2 and no padding and downsamples the skip path with a 2x2 /2
  average pool; where the two paths disagree in channels (32 -> 64) or size (8 -> 3 vs 4, 4 -> 1 vs
  2) dlib's ``add_prev`` adds them into the larger shape, the missing elements counting as 0;
* global average pool, ``fc_no_bias`` 256 -> 128; the metric loss outputs that vector unchanged.

Every affine layer (a frozen batch norm) follows a convolution, so it is folded into it.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

if TYPE_CHECKING:
    from facecloak.faces.face import Face

from facecloak.models.dlib_format import (
    AddPrevLayer,
    AffineLayer,
    ConvLayer,
    DlibFormatError,
    DlibNetwork,
    FullyConnectedLayer,
    InputRGBLayer,
    Layer,
    PoolLayer,
    ReluLayer,
    TagOrSkipLayer,
    read_dlib_network,
)
from facecloak.models.recognizer import Recognizer, as_batch, register_recognizer, shift_transforms

logger = logging.getLogger(__name__)

# Residual blocks per stage, input to output: (number of blocks, first block downsamples).
_STAGES: tuple[tuple[int, bool], ...] = ((3, False), (4, True), (3, True), (3, True), (1, True))

_LayerT = TypeVar("_LayerT", bound=Layer)


class _LayerCursor:
    """Walks the parsed layers in order, checking each is of the kind the architecture expects."""

    def __init__(self, network: DlibNetwork) -> None:
        self._layers = network.layers
        self._index = 0
        self._source = network.source

    def take(self, expected: type[_LayerT]) -> _LayerT:
        if self._index >= len(self._layers):
            raise DlibFormatError(
                f"{self._source}: the network ends where a {expected.kind!r} layer was expected"
            )
        layer = self._layers[self._index]
        if not isinstance(layer, expected):
            raise DlibFormatError(
                f"{self._source}: layer {self._index} (from the input) is {layer.kind!r} but "
                f"dlib's face recognizer has {expected.kind!r} there; is this the ResNet "
                "face recognition model?"
            )
        self._index += 1
        return layer

    def expect_end(self) -> None:
        extra = len(self._layers) - self._index
        if extra:
            raise DlibFormatError(
                f"{self._source}: {extra} layers beyond dlib's face recognizer architecture"
            )


class Conv2dParams(nn.Module):
    """A 2-D convolution built directly from given weights (``nn.Conv2d`` would first spend time
    randomly initialising weights that are overwritten anyway)."""

    def __init__(
        self,
        weight: np.ndarray,
        bias: np.ndarray,
        stride: tuple[int, int],
        padding: tuple[int, int],
    ) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.from_numpy(np.ascontiguousarray(weight, np.float32)))
        self.bias = nn.Parameter(torch.from_numpy(np.ascontiguousarray(bias, np.float32)))
        self.stride = stride
        self.padding = padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding)

    def extra_repr(self) -> str:
        out_channels, in_channels, rows, cols = self.weight.shape
        return (
            f"{in_channels}, {out_channels}, kernel_size=({rows}, {cols}), "
            f"stride={self.stride}, padding={self.padding}"
        )


def _conv_with_folded_affine(conv: ConvLayer, affine: AffineLayer, source: str) -> Conv2dParams:
    """A convolution computing ``affine(con(x))``: exact up to float rounding (done in float64)."""
    if conv.fused_relu:
        raise DlibFormatError(f"{source}: a convolution with a fused relu cannot absorb an affine")
    if not affine.conv_mode:
        raise DlibFormatError(f"{source}: expected a per-channel (conv mode) affine after a con")
    out_channels = conv.weight.shape[0]
    weight = conv.weight.astype(np.float64)
    bias = np.zeros(out_channels) if conv.bias is None else conv.bias.astype(np.float64)
    if not affine.disabled:
        gamma = affine.gamma.reshape(-1).astype(np.float64)
        beta = affine.beta.reshape(-1).astype(np.float64)
        if gamma.size != out_channels or beta.size != out_channels:
            raise DlibFormatError(
                f"{source}: affine has {gamma.size} channels after a con with {out_channels}"
            )
        weight = weight * gamma[:, None, None, None]
        bias = bias * gamma + beta
    return Conv2dParams(weight, bias, conv.stride, conv.padding)


def add_zero_padded(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """dlib's ``add_prev``: the sum takes the larger of each dimension; missing elements are 0.

    Elements line up at index 0 (channel 0, top-left pixel), so padding goes at the end.
    """
    if a.shape == b.shape:
        return a + b
    target = [max(x, y) for x, y in zip(a.shape[1:], b.shape[1:], strict=True)]

    def pad(t: torch.Tensor) -> torch.Tensor:
        channels, rows, cols = t.shape[1:]
        return F.pad(t, (0, target[2] - cols, 0, target[1] - rows, 0, target[0] - channels))

    return pad(a) + pad(b)


@dataclass(frozen=True)
class _PoolSpec:
    size: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]

    @classmethod
    def from_layer(cls, layer: PoolLayer, is_max: bool, source: str) -> _PoolSpec:
        if layer.is_max != is_max:
            wanted = "max" if is_max else "average"
            raise DlibFormatError(f"{source}: expected a {wanted} pooling layer")
        if min(layer.size) <= 0:
            raise DlibFormatError(f"{source}: expected a windowed pool, found {layer.size}")
        return cls(size=layer.size, stride=layer.stride, padding=layer.padding)


class ResidualBlock(nn.Module):
    """dlib's ``ares`` / ``ares_down``: ``relu(affine(con(relu(affine(con(x))))) + skip(x))``."""

    def __init__(
        self, first: Conv2dParams, second: Conv2dParams, skip_pool: _PoolSpec | None
    ) -> None:
        super().__init__()
        self.first = first
        self.second = second
        self.skip_pool = skip_pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = self.second(F.relu(self.first(x)))
        skip = x
        if self.skip_pool is not None:
            # dlib's average pool ignores window parts outside the input: count_include_pad=False
            skip = F.avg_pool2d(
                x,
                self.skip_pool.size,
                self.skip_pool.stride,
                self.skip_pool.padding,
                count_include_pad=False,
            )
        return F.relu(add_zero_padded(residual, skip))


def _take_residual_block(cursor: _LayerCursor, downsample: bool, source: str) -> ResidualBlock:
    """Consume one block's layers: tag1, con, affine, relu, con, affine, [tag2, skip1, avg_pool],
    add_prev, relu."""
    cursor.take(TagOrSkipLayer)
    first = _conv_with_folded_affine(cursor.take(ConvLayer), cursor.take(AffineLayer), source)
    cursor.take(ReluLayer)
    second = _conv_with_folded_affine(cursor.take(ConvLayer), cursor.take(AffineLayer), source)
    skip_pool = None
    if downsample:
        cursor.take(TagOrSkipLayer)
        cursor.take(TagOrSkipLayer)
        skip_pool = _PoolSpec.from_layer(cursor.take(PoolLayer), is_max=False, source=source)
    cursor.take(AddPrevLayer)
    cursor.take(ReluLayer)
    return ResidualBlock(first, second, skip_pool)


@register_recognizer
class DlibResNet(Recognizer):
    """dlib's 128-D face descriptor network, loaded from dlib's own ``.dat`` file.

    :meth:`align` cuts dlib's 150x150 chips (``dlib.get_face_chip(img, shape, size=150,
    padding=0.25)``, reproduced differentiably by :mod:`facecloak.faces.align` from the faces'
    5-point ``landmarks``); ``forward`` takes such chips ``(N, 3, 150, 150)``, float RGB in [0, 1],
    and returns the ``(N, 128)`` descriptors that
    ``dlib.face_recognition_model_v1.compute_face_descriptor`` gives for the same chips. Two faces
    are the same person when their descriptors are closer than ``threshold`` (0.6, Euclidean).

    >>> from facecloak.data import grace_hopper
    >>> from facecloak.models import detect
    >>> model = DlibResNet.load()  # the installed dlib_face_recognition_resnet_model_v1.dat
    >>> rgb = grace_hopper()
    >>> embedding = model.embed(rgb, detect(rgb))
    >>> tuple(embedding.shape), model.metric, model.threshold
    ((1, 128), 'euclidean', 0.6)
    """

    name = "dlib"
    chip_size = (150, 150)
    embedding_size = 128
    metric = "euclidean"
    channels_last = True

    def __init__(self, network: DlibNetwork) -> None:
        super().__init__()
        source = network.source
        cursor = _LayerCursor(network)
        input_layer = cursor.take(InputRGBLayer)
        if input_layer.size != self.chip_size:
            raise DlibFormatError(f"{source}: expected a 150x150 input, got {input_layer}")
        self.threshold: float = network.loss.distance_threshold
        self.loss_margin: float = network.loss.margin
        mean = torch.tensor(input_layer.mean_rgb, dtype=torch.float32).view(1, 3, 1, 1)
        # dlib feeds (pixel - mean) / 256 with pixel in 0..255; callers give pixel / 255
        self.register_buffer("input_scale", torch.tensor(255.0 / 256.0), persistent=False)
        self.register_buffer("input_shift", mean / 256.0, persistent=False)

        self.stem = _conv_with_folded_affine(
            cursor.take(ConvLayer), cursor.take(AffineLayer), source
        )
        cursor.take(ReluLayer)
        self.stem_pool = _PoolSpec.from_layer(cursor.take(PoolLayer), is_max=True, source=source)
        blocks = []
        for count, first_downsamples in _STAGES:
            for index in range(count):
                downsample = first_downsamples and index == 0
                blocks.append(_take_residual_block(cursor, downsample, source))
        self.blocks = nn.Sequential(*blocks)
        head_pool = cursor.take(PoolLayer)
        if head_pool.is_max or head_pool.size != (0, 0):
            raise DlibFormatError(f"{source}: expected avg_pool_everything, got {head_pool}")
        fc = cursor.take(FullyConnectedLayer)
        if fc.bias is not None:
            raise DlibFormatError(f"{source}: expected fc_no_bias, found an fc layer with biases")
        self.fc_weight = nn.Parameter(torch.tensor(fc.weight))
        cursor.expect_end()
        self.freeze()

    @classmethod
    def default_path(cls) -> Path:
        from facecloak.paths import dlib_model_path

        return dlib_model_path("recognizer")

    @classmethod
    def load(cls, path: str | Path | None = None) -> DlibResNet:
        """Load from a ``.dat`` file; by default the installed face recognizer model."""
        path = Path(path) if path is not None else cls.default_path()
        started = time.perf_counter()
        model = cls(_read_network_cached(*_file_identity(path)))
        logger.info("loaded dlib ResNet from %s in %.2f s", path, time.perf_counter() - started)
        return model

    from_file = load

    def chip_transforms(self, rgb: np.ndarray, faces: Sequence[Face]) -> np.ndarray:
        """dlib's chip affines from each face's 5 ``landmarks`` (``facecloak.models.detect``)."""
        from facecloak.faces.align import chip_transform

        missing = [i for i, face in enumerate(faces) if face.landmarks is None]
        if missing:
            raise ValueError(f"faces {missing} have no landmarks: detect with facecloak.faces")
        size = self.chip_size[0]
        return np.stack([chip_transform(f.landmarks, size) for f in faces]).reshape(-1, 2, 3)

    def warp(
        self, photo: torch.Tensor, transforms: np.ndarray, offset: tuple[int, int] = (0, 0)
    ) -> torch.Tensor:
        from facecloak.faces.align import extract_chips

        moved = shift_transforms(transforms, offset)
        return extract_chips(as_batch(photo), moved, size=self.chip_size[0])

    def _check_input(self, chips: torch.Tensor) -> None:
        expected = (3, *self.chip_size)
        if chips.ndim != 4 or tuple(chips.shape[1:]) != expected:
            raise ValueError(
                f"DlibResNet expects chips of shape (N, {', '.join(map(str, expected))}), "
                f"got {tuple(chips.shape)}"
            )
        if not chips.is_floating_point():
            raise ValueError(
                f"DlibResNet expects float RGB in [0, 1], got {chips.dtype}; divide uint8 by 255"
            )

    def forward(self, chips: torch.Tensor) -> torch.Tensor:
        """``(N, 3, 150, 150)`` RGB in [0, 1] -> ``(N, 128)`` face descriptors."""
        self._check_input(chips)
        x = chips.to(self.input_shift.dtype) * self.input_scale - self.input_shift
        x = F.relu(self.stem(x))
        x = F.max_pool2d(x, self.stem_pool.size, self.stem_pool.stride, self.stem_pool.padding)
        x = self.blocks(x)
        return F.linear(x.mean(dim=(2, 3)), self.fc_weight)


def _file_identity(path: Path) -> tuple[str, int, int]:
    """Resolved path, size and modification time: a cache key that notices a replaced file."""
    try:
        stat = path.stat()
    except OSError as exc:
        raise DlibFormatError(f"{path}: cannot read the dlib model file: {exc}") from exc
    return str(path.resolve()), stat.st_size, stat.st_mtime_ns


@functools.lru_cache(maxsize=4)
def _read_network_cached(path: str, size: int, mtime_ns: int) -> DlibNetwork:
    # Only the parsed (read-only) file is cached; each caller gets its own module, so moving one to
    # another device or unfreezing its weights cannot leak into other users.
    return read_dlib_network(path)


def load_dlib_resnet(path: str | Path | None = None) -> DlibResNet:
    """Same as :meth:`DlibResNet.load`."""
    return DlibResNet.load(path)
