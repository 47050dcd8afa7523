"""A small reader of OpenVINO IR graphs (XML v2 / v5 + ``.bin``) as differentiable torch modules.

The IR is a ``<net>`` with ``<layers>`` (each: id, type, precision, a ``<data>`` element of
attributes, ``<blobs>`` giving byte offset and size of its weights in the ``.bin`` file, and the
shapes of its ports) and ``<edges>`` (``from-layer``/``from-port`` -> ``to-layer``/``to-port``).
Version 2 spells geometry per axis (``kernel-x``, ``stride-y``, ``pad-x``); version 5 as lists
(``kernel="3,3"``, ``pads_begin``). Blobs are FP16 or FP32 by the layer's ``precision``.

Supported layer types, enough for Intel's face re-identification models: Input, ScaleShift,
Convolution (grouped), PReLU, ReLU, Activation (sigmoid, elu, relu), Pooling (max / avg, floor /
ceil rounding), Eltwise (sum, mul, max). :func:`load_ir` checks every layer's output shape
against the one the XML declares.

>>> import tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> _ = (folder / "tiny.bin").write_bytes(np.array([2.0, 1.0], np.float32).tobytes())
>>> _ = (folder / "tiny.xml").write_text(TINY_IR_EXAMPLE)
>>> network = load_ir(folder / "tiny.xml")
>>> network(torch.ones(1, 1, 2, 2)).flatten().tolist()
[3.0, 3.0, 3.0, 3.0]
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from facecloak.errors import FacecloakError

logger = logging.getLogger(__name__)

_DTYPES = {"FP16": np.float16, "FP32": np.float32}
_V2_KEYS = {
    "kernel": ("kernel-y", "kernel-x"),
    "strides": ("stride-y", "stride-x"),
    "dilations": ("dilation-y", "dilation-x"),
    "pads_begin": ("pad-y", "pad-x"),
    "pads_end": ("pad-b", "pad-r"),
}


class IRFormatError(FacecloakError, ValueError):
    """An IR file that this reader cannot turn into a network (the message names the layer)."""


@dataclass(frozen=True)
class IRLayer:
    """One ``<layer>``: attributes of ``<data>``, blobs as ``name -> (offset, size)`` in bytes,
    and the output shape the XML declares."""

    id: int
    name: str
    type: str
    precision: str
    data: dict[str, str]
    blobs: dict[str, tuple[int, int]]
    output_shape: tuple[int, ...]

    def pair(self, name: str, default: int | None = None) -> tuple[int, int]:
        """An ``(h, w)`` attribute: v5 ``name`` lists (``"3,3"``; ``strides``, ``pads_begin``),
        or v2 ``<v2>-y`` / ``<v2>-x`` (``stride``, ``pad``; ``pads_end`` -> ``pad-b`` / ``pad-r``).
        """
        if name in self.data:
            values = [int(v) for v in self.data[name].split(",") if v.strip()]
            return (values[-2], values[-1]) if len(values) > 1 else (values[0], values[0])
        y_key, x_key = _V2_KEYS[name]
        if x_key in self.data or y_key in self.data:
            x = int(self.data.get(x_key, self.data.get(y_key)))
            return (int(self.data.get(y_key, x)), x)
        if default is None:
            raise IRFormatError(f"layer {self.id} ({self.type}) has no {name} / {x_key}")
        return (default, default)


@dataclass
class IRGraph:
    """Layers in topological order, each layer's inputs (ids in port order), and the weights."""

    version: int
    name: str
    layers: list[IRLayer]
    inputs: dict[int, list[int]]
    weights: bytes = field(repr=False)

    def blob(self, layer: IRLayer, name: str) -> np.ndarray | None:
        """The blob ``name`` of ``layer`` as float32 (``None`` when the layer has none)."""
        if name not in layer.blobs:
            return None
        offset, size = layer.blobs[name]
        dtype = _DTYPES.get(layer.precision)
        if dtype is None:
            raise IRFormatError(f"layer {layer.id}: unsupported precision {layer.precision}")
        if offset + size > len(self.weights):
            raise IRFormatError(f"layer {layer.id}: blob {name} runs past the end of the .bin")
        return np.frombuffer(self.weights, dtype, size // np.dtype(dtype).itemsize, offset).astype(
            np.float32
        )

    @property
    def output_id(self) -> int:
        """The one layer whose output no other layer reads."""
        consumed = {source for sources in self.inputs.values() for source in sources}
        outputs = [layer.id for layer in self.layers if layer.id not in consumed]
        if len(outputs) != 1:
            raise IRFormatError(f"{self.name}: expected one output layer, found {outputs}")
        return outputs[0]


def read_ir(xml_path: str | Path, bin_path: str | Path | None = None) -> IRGraph:
    """Parse an IR ``.xml`` and its ``.bin`` (default: beside it, same stem)."""
    xml_path = Path(xml_path)
    bin_path = Path(bin_path) if bin_path is not None else xml_path.with_suffix(".bin")
    try:
        root = ET.parse(xml_path).getroot()
        weights = bin_path.read_bytes()
    except (OSError, ET.ParseError) as exc:
        raise IRFormatError(f"{xml_path}: cannot read the IR ({exc})") from exc
    version = int(root.get("version", "0"))
    if version not in (2, 3, 4, 5):
        raise IRFormatError(f"{xml_path}: IR version {version}; this reader knows v2 to v5")
    layers = {layer.id: layer for layer in map(_parse_layer, root.iterfind("layers/layer"))}
    edges = sorted(
        (int(e.get("to-layer")), int(e.get("to-port")), int(e.get("from-layer")))
        for e in root.iterfind("edges/edge")
    )
    inputs: dict[int, list[int]] = {layer_id: [] for layer_id in layers}
    for target, _, source in edges:
        inputs[target].append(source)
    order = _topological_order(layers, inputs)
    return IRGraph(version, root.get("name", xml_path.stem), order, inputs, weights)


def _parse_layer(element: ET.Element) -> IRLayer:
    data = element.find("data")
    blobs = {
        blob.tag: (int(blob.get("offset")), int(blob.get("size")))
        for blob in element.iterfind("blobs/*")
    }
    port = element.find("output/port")
    shape = () if port is None else tuple(int(dim.text) for dim in port.iterfind("dim"))
    return IRLayer(
        id=int(element.get("id")),
        name=element.get("name", ""),
        type=element.get("type", ""),
        precision=element.get("precision", "FP32"),
        data=dict(data.attrib) if data is not None else {},
        blobs=blobs,
        output_shape=shape,
    )


def _topological_order(layers: dict[int, IRLayer], inputs: dict[int, list[int]]) -> list[IRLayer]:
    done: set[int] = set()
    order: list[IRLayer] = []
    pending = sorted(layers)
    while pending:
        ready = [i for i in pending if all(source in done for source in inputs[i])]
        if not ready:
            raise IRFormatError(f"the graph has a cycle among layers {pending[:5]}")
        for layer_id in ready:
            done.add(layer_id)
            order.append(layers[layer_id])
        pending = [i for i in pending if i not in done]
    return order


# --------------------------------------------------------------------------- layers as modules


class IRConvolution(nn.Module):
    """A (grouped) convolution with IR padding (``pads_begin`` may differ from ``pads_end``)."""

    def __init__(self, graph: IRGraph, layer: IRLayer) -> None:
        super().__init__()
        kernel = layer.pair("kernel")
        self.stride = layer.pair("strides")
        self.dilation = layer.pair("dilations", default=1)
        begin = layer.pair("pads_begin", default=0)
        end = layer.pair("pads_end", default=-1)
        end = begin if end == (-1, -1) else end
        self.pads = (begin[1], end[1], begin[0], end[0])  # F.pad order: left, right, top, bottom
        self.groups = int(layer.data.get("group", "1"))
        out_channels = int(layer.data["output"])
        weight = graph.blob(layer, "weights")
        if weight is None:
            raise IRFormatError(f"layer {layer.id} (Convolution) has no weights")
        weight = weight.reshape(out_channels, -1, *kernel)
        self.register_buffer("weight", torch.from_numpy(weight))
        bias = graph.blob(layer, "biases")
        self.register_buffer("bias", None if bias is None else torch.from_numpy(bias))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        left, right, top, bottom = self.pads
        padding: tuple[int, int] | str = (top, left)
        if (left, top) != (right, bottom):
            x, padding = F.pad(x, self.pads), (0, 0)
        weight = self.weight.to(x.dtype)
        bias = None if self.bias is None else self.bias.to(x.dtype)
        return F.conv2d(x, weight, bias, self.stride, padding, self.dilation, self.groups)


class IRScaleShift(nn.Module):
    """Per-channel ``x * weights + biases``."""

    def __init__(self, graph: IRGraph, layer: IRLayer) -> None:
        super().__init__()
        scale, shift = graph.blob(layer, "weights"), graph.blob(layer, "biases")
        channels = layer.output_shape[1]
        scale = np.ones(channels, np.float32) if scale is None else scale
        shift = np.zeros(channels, np.float32) if shift is None else shift
        self.register_buffer("scale", torch.from_numpy(scale).view(1, -1, 1, 1))
        self.register_buffer("shift", torch.from_numpy(shift).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale.to(x.dtype) + self.shift.to(x.dtype)


class IRPReLU(nn.Module):
    """PReLU with one slope (``channel_shared="1"``) or one per channel."""

    def __init__(self, graph: IRGraph, layer: IRLayer) -> None:
        super().__init__()
        slope = graph.blob(layer, "weights")
        if slope is None:
            raise IRFormatError(f"layer {layer.id} (PReLU) has no slopes")
        self.register_buffer("slope", torch.from_numpy(slope).reshape(-1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # F.prelu's fused kernels: torch.where's two branches and their backward took twice
        # the time, a quarter of reid0095's step.
        return F.prelu(x, self.slope.to(x.dtype))


class IRPooling(nn.Module):
    """Max or average pooling; ``rounding_type="ceil"`` keeps a last partial window."""

    def __init__(self, layer: IRLayer) -> None:
        super().__init__()
        self.kernel = layer.pair("kernel")
        self.stride = layer.pair("strides")
        begin = layer.pair("pads_begin", default=0)
        end = layer.pair("pads_end", default=-1)
        if end not in (begin, (-1, -1)):
            raise IRFormatError(f"layer {layer.id} (Pooling): asymmetric padding is unsupported")
        self.padding = begin
        self.method = layer.data.get("pool-method", "max")
        self.ceil = layer.data.get("rounding_type", "floor") == "ceil"
        self.exclude_pad = layer.data.get("exclude-pad", "false") == "true"
        if self.method not in ("max", "avg"):
            raise IRFormatError(f"layer {layer.id}: unsupported pool-method {self.method!r}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.method == "max":
            return F.max_pool2d(x, self.kernel, self.stride, self.padding, ceil_mode=self.ceil)
        return F.avg_pool2d(
            x, self.kernel, self.stride, self.padding, self.ceil, not self.exclude_pad
        )


class IRActivation(nn.Module):
    """ReLU (with ``negative_slope``), ELU (``alpha``) or sigmoid."""

    def __init__(self, layer: IRLayer) -> None:
        super().__init__()
        kind = layer.type.lower() if layer.type != "Activation" else layer.data.get("type", "")
        self.kind = kind.lower()
        self.alpha = float(layer.data.get("alpha", layer.data.get("negative_slope", "0") or 0))
        if self.kind not in ("relu", "elu", "sigmoid"):
            raise IRFormatError(f"layer {layer.id}: unsupported activation {self.kind!r}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "sigmoid":
            return torch.sigmoid(x)
        if self.kind == "elu":
            return F.elu(x, alpha=self.alpha)
        return F.leaky_relu(x, self.alpha) if self.alpha else F.relu(x)


_ELTWISE: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "sum": torch.add,
    "mul": torch.mul,
    "max": torch.maximum,
}


def _layer_module(graph: IRGraph, layer: IRLayer) -> nn.Module | None:
    kind = layer.type
    if kind == "Convolution":
        return IRConvolution(graph, layer)
    if kind == "ScaleShift":
        return IRScaleShift(graph, layer)
    if kind == "PReLU":
        return IRPReLU(graph, layer)
    if kind == "Pooling":
        return IRPooling(layer)
    if kind in ("Activation", "ReLU", "ELU", "Sigmoid"):
        return IRActivation(layer)
    if kind == "Eltwise":
        operation = layer.data.get("operation", "sum").lower()
        if operation not in _ELTWISE:
            raise IRFormatError(f"layer {layer.id}: unsupported Eltwise operation {operation!r}")
        return None
    raise IRFormatError(f"layer {layer.id} ({layer.name}): unsupported type {kind!r}")


class IRNetwork(nn.Module):
    """The IR graph as a torch module: ``forward(x)`` with ``x`` the graph's input tensor."""

    def __init__(self, graph: IRGraph) -> None:
        super().__init__()
        self.graph_name = graph.name
        inputs = [layer for layer in graph.layers if layer.type == "Input"]
        if len(inputs) != 1:
            raise IRFormatError(f"{graph.name}: expected one Input layer, found {len(inputs)}")
        self.input_id = inputs[0].id
        self.input_shape = inputs[0].output_shape
        self.output_id = graph.output_id
        self.steps: list[tuple[int, str, list[int]]] = []
        self.ops = nn.ModuleDict()
        for layer in graph.layers:
            if layer.type == "Input":
                continue
            module = _layer_module(graph, layer)
            if module is not None:
                self.ops[str(layer.id)] = module
            operation = layer.data.get("operation", "sum").lower()
            self.steps.append((layer.id, operation, graph.inputs[layer.id]))
        self.declared_shapes = {layer.id: layer.output_shape for layer in graph.layers}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.run(x)[self.output_id]

    def run(self, x: torch.Tensor) -> dict[int, torch.Tensor]:
        """Every layer's output by layer id (for checks); :meth:`forward` returns the last."""
        values = {self.input_id: x}
        for layer_id, operation, sources in self.steps:
            key = str(layer_id)
            if key in self.ops:
                values[layer_id] = self.ops[key](values[sources[0]])
            else:
                result = values[sources[0]]
                for source in sources[1:]:
                    result = _ELTWISE[operation](result, values[source])
                values[layer_id] = result
        return values

    def check_shapes(self) -> None:
        """Run a zero input; raise :class:`IRFormatError` where a shape differs from the XML."""
        with torch.no_grad():
            values = self.run(torch.zeros(self.input_shape))
        for layer_id, value in values.items():
            declared = self.declared_shapes[layer_id]
            if declared and tuple(value.shape) != declared:
                raise IRFormatError(
                    f"{self.graph_name}: layer {layer_id} gives {tuple(value.shape)}, the IR "
                    f"declares {declared}"
                )


def load_ir(xml_path: str | Path, bin_path: str | Path | None = None) -> IRNetwork:
    """The IR graph as a frozen, eval-mode torch module whose layer shapes match the XML."""
    graph = read_ir(xml_path, bin_path)
    network = IRNetwork(graph).eval()
    network.requires_grad_(False)
    network.check_shapes()
    logger.info("read IR v%d %s: %d layers", graph.version, graph.name, len(graph.layers))
    return network


TINY_IR_EXAMPLE = """<?xml version="1.0" ?>
<net name="tiny" version="5" batch="1"><layers>
<layer id="0" name="in" type="Input" precision="FP32">
 <output><port id="0"><dim>1</dim><dim>1</dim><dim>2</dim><dim>2</dim></port></output></layer>
<layer id="1" name="scale" type="ScaleShift" precision="FP32">
 <input><port id="0"><dim>1</dim><dim>1</dim><dim>2</dim><dim>2</dim></port></input>
 <output><port id="1"><dim>1</dim><dim>1</dim><dim>2</dim><dim>2</dim></port></output>
 <blobs><weights offset="0" size="4"/><biases offset="4" size="4"/></blobs></layer>
</layers><edges><edge from-layer="0" from-port="0" to-layer="1" to-port="0"/></edges></net>
"""
"""A one-layer IR (``x * 2 + 1``) for examples."""
