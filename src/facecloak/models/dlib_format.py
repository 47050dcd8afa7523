"""Reader for dlib's binary serialization of DNN models (``*.dat`` files).

dlib writes a network with its ``serialize`` functions (``dlib/serialize.h``, ``dlib/dnn/core.h``,
``dlib/dnn/layers.h``). The pieces this module understands:

* **Primitives** (integers, floats, strings, tensors): :mod:`facecloak.models.dlib_serial`.
* **Networks**: the loss layer first, then each wrapper's version from the top layer down to the
  input layer, then each layer's own fields from the input layer back up (a wrapper writes its
  version, then everything below it, then its own layer). Tag and skip wrappers carry only a
  version, so the file alone cannot tell a tag from a skip nor say which tag an ``add_prev`` reads:
  the topology comes from the network definition in code (see :mod:`facecloak.models.dlib_resnet`).

Usage::

    net = read_dlib_network("dlib_face_recognition_resnet_model_v1.dat")
    net.loss.distance_threshold  # 0.6
    [layer.kind for layer in net.layers][:4]  # ['input_rgb_image', 'con', 'affine', 'relu']
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np

from facecloak.models.dlib_serial import DlibFormatError, DlibReader

__all__ = [
    "AddPrevLayer",
    "AffineLayer",
    "ConvLayer",
    "DlibFormatError",
    "DlibNetwork",
    "DlibReader",
    "FullyConnectedLayer",
    "InputRGBLayer",
    "Layer",
    "MetricLoss",
    "PoolLayer",
    "ReluLayer",
    "TagOrSkipLayer",
    "parse_dlib_network",
    "read_dlib_network",
    "read_input_layer",
    "read_layer",
    "read_metric_loss",
]

logger = logging.getLogger(__name__)

_LOSS_WRAPPER_VERSION = 1
_TAG_OR_SKIP_VERSION = 1  # add_tag_layer / add_skip_layer
_LAYER_WRAPPER_VERSION = 2  # add_layer over another layer
_INPUT_WRAPPER_VERSIONS = (2, 3)  # add_layer directly over the input layer


# --------------------------------------------------------------------------------------------
# Layers


@dataclass(frozen=True)
class Layer:
    """Base of the parsed layer records; ``kind`` is dlib's layer name without version."""

    kind: ClassVar[str] = "layer"


@dataclass(frozen=True)
class TagOrSkipLayer(Layer):
    """A ``tagN`` or ``skipN`` wrapper: the file stores neither which one nor its number."""

    kind: ClassVar[str] = "tag_or_skip"


@dataclass(frozen=True)
class InputRGBLayer(Layer):
    """``input_rgb_image[_sized]``: tensor = (pixel - mean) / 256 per channel, pixels in 0..255."""

    kind: ClassVar[str] = "input_rgb_image"
    mean_rgb: tuple[float, float, float]
    size: tuple[int, int] | None  # (rows, cols) for the _sized variant


@dataclass(frozen=True)
class ConvLayer(Layer):
    """``con_``: cross-correlation with zero padding, then bias (and relu if fused)."""

    kind: ClassVar[str] = "con"
    weight: np.ndarray = field(repr=False)  # (out_channels, in_channels, rows, cols)
    bias: np.ndarray | None = field(repr=False)  # (out_channels,)
    stride: tuple[int, int]  # (y, x)
    padding: tuple[int, int]  # (y, x)
    fused_relu: bool = False


@dataclass(frozen=True)
class AffineLayer(Layer):
    """``affine_``: ``x * gamma + beta``, per channel (conv mode) or per element (fc mode)."""

    kind: ClassVar[str] = "affine"
    gamma: np.ndarray = field(repr=False)  # shape (1, k) in conv mode, (1, k, nr, nc) in fc mode
    beta: np.ndarray = field(repr=False)
    conv_mode: bool
    disabled: bool = False


@dataclass(frozen=True)
class ReluLayer(Layer):
    """``relu_``."""

    kind: ClassVar[str] = "relu"
    disabled: bool = False


@dataclass(frozen=True)
class PoolLayer(Layer):
    """``max_pool_`` / ``avg_pool_``; a size of 0 means the whole input plane."""

    kind: ClassVar[str] = "pool"
    is_max: bool
    size: tuple[int, int]  # (rows, cols)
    stride: tuple[int, int]
    padding: tuple[int, int]


@dataclass(frozen=True)
class AddPrevLayer(Layer):
    """``add_prev_``: adds the output of a tagged layer (which tag is not stored)."""

    kind: ClassVar[str] = "add_prev"


@dataclass(frozen=True)
class FullyConnectedLayer(Layer):
    """``fc_``: ``y = x_flat @ weight.T + bias``."""

    kind: ClassVar[str] = "fc"
    weight: np.ndarray = field(repr=False)  # (num_outputs, num_inputs), torch's Linear layout
    bias: np.ndarray | None = field(repr=False)


@dataclass(frozen=True)
class MetricLoss:
    """``loss_metric_``: the training margin and the same-person distance threshold."""

    margin: float
    distance_threshold: float


@dataclass(frozen=True)
class DlibNetwork:
    """A parsed network: its loss and its layers from the input layer up to the loss."""

    source: str
    loss: MetricLoss
    layers: tuple[Layer, ...]

    def kinds(self) -> list[str]:
        """Layer kinds from input to output, e.g. ``['input_rgb_image', 'con', ...]``."""
        return [layer.kind for layer in self.layers]


def _slice_params(
    reader: DlibReader, params: np.ndarray, offset: int, shape: tuple[int, ...], what: str
) -> np.ndarray:
    """A view of ``shape`` into the flat ``params`` tensor at element ``offset``."""
    flat = params.reshape(-1)
    count = math.prod(shape)
    if offset + count > flat.size:
        raise reader.error(
            f"{what} needs {count} values at offset {offset} but the layer stores {flat.size}"
        )
    return flat[offset : offset + count].reshape(shape)


def _read_con(reader: DlibReader, version: str) -> ConvLayer:
    params = reader.read_tensor()
    num_filters = reader.read_int()
    rows, cols = reader.read_int(), reader.read_int()
    stride = (reader.read_int(), reader.read_int())
    padding = (reader.read_int(), reader.read_int())
    filters_shape = reader.read_alias_tensor()
    biases_shape = reader.read_alias_tensor()
    for _ in range(4):  # learning-rate and weight-decay multipliers: training only
        reader.read_float()
    use_bias = reader.read_bool() if version in ("con_5", "con_6") else True
    fused_relu = reader.read_bool() if version == "con_6" else False
    if filters_shape[0] != num_filters or filters_shape[2:] != (rows, cols):
        raise reader.error(
            f"con_ filters {filters_shape} disagree with {num_filters} filters of {rows}x{cols}"
        )
    weight = _slice_params(reader, params, 0, filters_shape, "con_ filters")
    bias = None
    if use_bias and math.prod(biases_shape) > 0:
        bias = _slice_params(reader, params, weight.size, (num_filters,), "con_ biases")
    return ConvLayer(
        weight=weight, bias=bias, stride=stride, padding=padding, fused_relu=fused_relu
    )


def _read_affine(reader: DlibReader, version: str) -> AffineLayer:
    params = reader.read_tensor()
    gamma_shape = reader.read_alias_tensor()
    beta_shape = reader.read_alias_tensor()
    mode = reader.read_int()
    disabled = reader.read_bool() if version == "affine_2" else False
    if mode not in (0, 1):
        raise reader.error(f"affine_ has unknown mode {mode} (0 = conv, 1 = fc)")
    gamma = _slice_params(reader, params, 0, gamma_shape, "affine_ gamma")
    beta = _slice_params(reader, params, gamma.size, beta_shape, "affine_ beta")
    return AffineLayer(gamma=gamma, beta=beta, conv_mode=mode == 0, disabled=disabled)


def _read_relu(reader: DlibReader, version: str) -> ReluLayer:
    return ReluLayer(disabled=reader.read_bool() if version == "relu_2" else False)


def _read_pool(reader: DlibReader, version: str) -> PoolLayer:
    size = (reader.read_int(), reader.read_int())
    stride = (reader.read_int(), reader.read_int())
    padding = (reader.read_int(), reader.read_int())
    return PoolLayer(is_max=version.startswith("max"), size=size, stride=stride, padding=padding)


def _read_add_prev(reader: DlibReader, version: str) -> AddPrevLayer:
    return AddPrevLayer()


def _read_fc(reader: DlibReader, version: str) -> FullyConnectedLayer:
    num_outputs = reader.read_int()
    num_inputs = reader.read_int()
    params = reader.read_tensor()
    weights_shape = reader.read_alias_tensor()
    biases_shape = reader.read_alias_tensor()
    bias_mode = reader.read_int()  # 0: has bias, 1: no bias
    for _ in range(4):
        reader.read_float()
    use_bias = reader.read_bool() if version == "fc_3" else True
    if weights_shape[:2] != (num_inputs, num_outputs):
        raise reader.error(f"fc_ weights {weights_shape} are not {num_inputs}x{num_outputs}")
    # dlib computes output = input @ W with W of shape (num_inputs, num_outputs)
    weight = _slice_params(reader, params, 0, (num_inputs, num_outputs), "fc_ weights").T
    bias = None
    if bias_mode == 0 and use_bias and math.prod(biases_shape) > 0:
        bias = _slice_params(reader, params, weight.size, (num_outputs,), "fc_ biases")
    weight = np.ascontiguousarray(weight)
    weight.flags.writeable = False
    return FullyConnectedLayer(weight=weight, bias=bias)


_LayerParser = Callable[[DlibReader, str], Layer]

_LAYER_PARSERS: dict[str, _LayerParser] = {
    "con_4": _read_con,
    "con_5": _read_con,
    "con_6": _read_con,
    "affine_": _read_affine,
    "affine_2": _read_affine,
    "relu_": _read_relu,
    "relu_2": _read_relu,
    "max_pool_2": _read_pool,
    "avg_pool_2": _read_pool,
    "add_prev_": _read_add_prev,
    "fc_2": _read_fc,
    "fc_3": _read_fc,
}

_INPUT_LAYER_NAMES = ("input_rgb_image", "input_rgb_image_sized")


def read_layer(reader: DlibReader) -> Layer:
    """One layer's own fields, starting with its versioned name such as ``"con_4"``."""
    start = reader.offset
    name = reader.read_string()
    parser = _LAYER_PARSERS.get(name)
    if parser is None:
        raise reader.error(
            f"unsupported layer {name!r}; this reader knows {sorted(_LAYER_PARSERS)}", start
        )
    return parser(reader, name)


def read_input_layer(reader: DlibReader) -> InputRGBLayer:
    """The input layer's fields (only the RGB image inputs are supported)."""
    start = reader.offset
    name = reader.read_string()
    if name not in _INPUT_LAYER_NAMES:
        raise reader.error(
            f"unsupported input layer {name!r}; expected {_INPUT_LAYER_NAMES}", start
        )
    mean_rgb = (reader.read_float32(), reader.read_float32(), reader.read_float32())
    size = (reader.read_int(), reader.read_int()) if name == "input_rgb_image_sized" else None
    return InputRGBLayer(mean_rgb=mean_rgb, size=size)


def read_metric_loss(reader: DlibReader) -> MetricLoss:
    """The ``add_loss_layer`` wrapper and its ``loss_metric_`` details."""
    reader.expect_version((_LOSS_WRAPPER_VERSION,), "add_loss_layer")
    start = reader.offset
    name = reader.read_string()
    if name == "loss_metric_":  # older files: values were hard-coded in dlib
        return MetricLoss(margin=0.1, distance_threshold=0.75)
    if name != "loss_metric_2":
        raise reader.error(f"expected a metric loss ('loss_metric_2') but found {name!r}", start)
    return MetricLoss(margin=reader.read_float32(), distance_threshold=reader.read_float32())


def _skip_layer_wrapper_state(reader: DlibReader, wrapper_version: int, over_input: bool) -> None:
    """Step over the training state an ``add_layer`` stores after its layer."""
    for _ in range(3):  # setup called, gradient stale, output/gradient disabled
        reader.read_bool()
    reader.skip_tensor()  # x_grad
    reader.skip_tensor()  # cached_output
    if over_input:
        reader.skip_tensor()  # grad_final
        if wrapper_version >= 3:
            reader.read_int()  # sample expansion factor
    elif wrapper_version >= 2:
        reader.skip_tensor()  # params_grad


def _read_wrapper_versions(reader: DlibReader) -> list[int]:
    """Wrapper versions from the top layer down; the last one wraps the input layer.

    A tag/skip wrapper's version (1) is followed by the next wrapper's version, while the input
    wrapper's version is followed by the input layer's name: that string ends the list.
    """
    versions: list[int] = []
    while True:
        start = reader.offset
        version = reader.read_int()
        if reader.peek_string() in _INPUT_LAYER_NAMES:
            if version not in _INPUT_WRAPPER_VERSIONS:
                raise reader.error(f"input add_layer has unknown version {version}", start)
            versions.append(version)
            return versions
        if version not in (_TAG_OR_SKIP_VERSION, _LAYER_WRAPPER_VERSION):
            raise reader.error(
                f"expected a wrapper version (1: tag/skip, 2: add_layer), found {version}", start
            )
        versions.append(version)


def parse_dlib_network(data: bytes, source: str = "<bytes>") -> DlibNetwork:
    """Parse a whole serialized metric-loss network from ``data``.

    Caveat: old dlib releases wrote ``add_layer`` as version 1, the version of tag/skip wrappers;
    this reader takes 1 to be a tag/skip, as in files written by current dlib (``add_layer`` 2).
    """
    reader = DlibReader(data, source)
    loss = read_metric_loss(reader)
    top_down = _read_wrapper_versions(reader)
    input_version = top_down.pop()
    layers: list[Layer] = [read_input_layer(reader), read_layer(reader)]
    _skip_layer_wrapper_state(reader, input_version, over_input=True)
    for version in reversed(top_down):
        if version == _TAG_OR_SKIP_VERSION:
            layers.append(TagOrSkipLayer())
            continue
        layers.append(read_layer(reader))
        _skip_layer_wrapper_state(reader, version, over_input=False)
    if reader.remaining:
        raise reader.error(f"{reader.remaining} unexpected bytes after the network")
    return DlibNetwork(source=source, loss=loss, layers=tuple(layers))


def read_dlib_network(path: str | Path) -> DlibNetwork:
    """Read and parse a dlib metric-loss network file such as the face recognizer's ``.dat``."""
    path = Path(path)
    started = time.perf_counter()
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DlibFormatError(f"{path}: cannot read the dlib model file: {exc}") from exc
    network = parse_dlib_network(data, source=str(path))
    logger.debug(
        "parsed %s: %d layers in %.3f s", path, len(network.layers), time.perf_counter() - started
    )
    return network
