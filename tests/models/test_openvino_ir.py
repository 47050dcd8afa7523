"""The OpenVINO IR reader on tiny synthetic graphs (v5 and v2 spellings) written by the test."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from facecloak.models.openvino_ir import IRFormatError, load_ir, read_ir

SHAPE = (1, 4, 6, 6)


class IRWriter:
    """Builds an IR ``.xml`` + ``.bin``: each layer reads the previous one unless told."""

    def __init__(self, version: int, precision: str = "FP32") -> None:
        self.version = version
        self.precision = precision
        self.dtype = np.float16 if precision == "FP16" else np.float32
        self.layers: list[str] = []
        self.edges: list[tuple[int, int]] = []
        self.weights = bytearray()

    def blob(self, tag: str, values: np.ndarray) -> str:
        data = np.asarray(values, self.dtype).tobytes()
        offset = len(self.weights)
        self.weights += data
        return f'<{tag} offset="{offset}" size="{len(data)}"/>'

    def add(
        self,
        kind: str,
        shape: tuple[int, ...],
        data: dict[str, str] | None = None,
        blobs: dict[str, np.ndarray] | None = None,
        inputs: tuple[int, ...] | None = None,
    ) -> int:
        index = len(self.layers)
        attributes = " ".join(f'{k}="{v}"' for k, v in (data or {}).items())
        dims = "".join(f"<dim>{d}</dim>" for d in shape)
        blob_xml = "".join(self.blob(tag, values) for tag, values in (blobs or {}).items())
        self.layers.append(
            f'<layer id="{index}" name="l{index}" type="{kind}" precision="{self.precision}">'
            + (f"<data {attributes}/>" if data else "")
            + f'<output><port id="9">{dims}</port></output>'
            + (f"<blobs>{blob_xml}</blobs>" if blob_xml else "")
            + "</layer>"
        )
        sources = (index - 1,) if inputs is None and index else inputs or ()
        self.edges += [(source, index) for source in sources]
        return index

    def write(self, folder: Path) -> Path:
        edges = "".join(
            f'<edge from-layer="{a}" from-port="9" to-layer="{b}" to-port="{port}"/>'
            for port, (a, b) in enumerate(self.edges)
        )
        xml = folder / "net.xml"
        xml.write_text(
            f'<?xml version="1.0" ?><net name="t" version="{self.version}" batch="1">'
            f"<layers>{''.join(self.layers)}</layers><edges>{edges}</edges></net>"
        )
        (folder / "net.bin").write_bytes(bytes(self.weights))
        return xml


def conv_data(version: int, kernel: int, stride: int, pad: int, group: int, out: int) -> dict:
    if version >= 5:
        return {
            "kernel": f"{kernel},{kernel}",
            "strides": f"{stride},{stride}",
            "pads_begin": f"{pad},{pad}",
            "pads_end": f"{pad},{pad}",
            "dilations": "1,1",
            "group": str(group),
            "output": str(out),
        }
    return {
        "kernel-x": str(kernel),
        "kernel-y": str(kernel),
        "stride-x": str(stride),
        "stride-y": str(stride),
        "pad-x": str(pad),
        "pad-y": str(pad),
        "group": str(group),
        "output": str(out),
    }


def pool_data(version: int, method: str, rounding: str) -> dict:
    base = {"pool-method": method, "rounding_type": rounding, "exclude-pad": "true"}
    if version >= 5:
        return {**base, "kernel": "2,2", "strides": "2,2", "pads_begin": "0,0", "pads_end": "0,0"}
    return {**base, "kernel-x": "2", "kernel-y": "2", "stride-x": "2", "stride-y": "2"}


def global_pool_data(version: int) -> dict:
    """A 6x6 average pool over the whole map."""
    data = pool_data(version, "avg", "floor")
    if version >= 5:
        return {**data, "kernel": "6,6", "strides": "6,6"}
    return {**data, "kernel-x": "6", "kernel-y": "6", "stride-x": "6", "stride-y": "6"}


def squeeze_excite_graph(version: int, precision: str, rng: np.random.Generator):
    """ScaleShift -> depthwise conv -> PReLU -> SE (avg pool, conv, sigmoid, mul) -> + skip ->
    ELU -> ceil max pool; and the same computation in plain torch."""
    w = IRWriter(version, precision)
    scale, shift = rng.normal(size=4), rng.normal(size=4)
    depthwise, bias = rng.normal(size=(4, 1, 3, 3)), rng.normal(size=4)
    squeeze = rng.normal(size=(4, 4, 1, 1))
    slope = np.array([0.25])
    w.add("Input", SHAPE)
    first = w.add("ScaleShift", SHAPE, blobs={"weights": scale, "biases": shift})
    w.add(
        "Convolution",
        SHAPE,
        conv_data(version, 3, 1, 1, 4, 4),
        {"weights": depthwise, "biases": bias},
    )
    act = w.add("PReLU", SHAPE, {"channel_shared": "1"}, {"weights": slope})
    w.add("Pooling", (1, 4, 1, 1), global_pool_data(version))
    w.add("Convolution", (1, 4, 1, 1), conv_data(version, 1, 1, 0, 1, 4), {"weights": squeeze})
    gate = w.add("Activation", (1, 4, 1, 1), {"type": "sigmoid"})
    mul = w.add("Eltwise", SHAPE, {"operation": "mul"}, inputs=(act, gate))
    w.add("Eltwise", SHAPE, {"operation": "sum"}, inputs=(mul, first))
    w.add("Activation", SHAPE, {"type": "elu", "alpha": "1.0"})
    w.add("Pooling", (1, 4, 3, 3), pool_data(version, "max", "ceil"))

    def reference(x: torch.Tensor) -> torch.Tensor:
        t = lambda a: torch.tensor(np.asarray(a, np.float64), dtype=torch.float32)  # noqa: E731
        x = x * t(scale).view(1, -1, 1, 1) + t(shift).view(1, -1, 1, 1)
        skip = x
        x = F.conv2d(x, t(depthwise), t(bias), padding=1, groups=4)
        x = torch.where(x >= 0, x, 0.25 * x)
        gate = torch.sigmoid(F.conv2d(F.avg_pool2d(x, 6), t(squeeze)))
        x = F.elu(x * gate + skip)
        return F.max_pool2d(x, 2, 2, ceil_mode=True)

    return w, reference


@pytest.mark.parametrize("version", [2, 5])
def test_reader_builds_the_graph_it_describes(version: int, tmp_path: Path) -> None:
    writer, reference = squeeze_excite_graph(version, "FP32", np.random.default_rng(0))
    network = load_ir(writer.write(tmp_path))
    x = torch.randn(2, *SHAPE[1:], generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(network(x), reference(x), atol=1e-5, rtol=1e-5)


def test_fp16_blobs_are_read_as_half_precision(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    writer, _ = squeeze_excite_graph(5, "FP16", rng)
    graph = read_ir(writer.write(tmp_path))
    scale_layer = graph.layers[1]
    assert scale_layer.blobs["weights"] == (0, 8)  # 4 channels x 2 bytes
    expected = np.random.default_rng(2).normal(size=4).astype(np.float16).astype(np.float32)
    np.testing.assert_array_equal(graph.blob(scale_layer, "weights"), expected)


def test_layers_come_in_topological_order_with_ported_inputs(tmp_path: Path) -> None:
    writer, _ = squeeze_excite_graph(5, "FP32", np.random.default_rng(0))
    graph = read_ir(writer.write(tmp_path))
    assert [layer.type for layer in graph.layers][:3] == ["Input", "ScaleShift", "Convolution"]
    assert graph.inputs[7] == [3, 6]  # mul: PReLU output, then the sigmoid gate
    assert graph.output_id == len(graph.layers) - 1


def test_gradient_flows_to_the_input(tmp_path: Path) -> None:
    writer, _ = squeeze_excite_graph(5, "FP32", np.random.default_rng(0))
    network = load_ir(writer.write(tmp_path))
    x = torch.randn(1, *SHAPE[1:]).requires_grad_()
    network(x).sum().backward()
    assert x.grad is not None and float(x.grad.abs().sum()) > 0
    assert not any(p.requires_grad for p in network.parameters())


def test_unsupported_layer_and_wrong_shape_are_named(tmp_path: Path) -> None:
    writer = IRWriter(5)
    writer.add("Input", SHAPE)
    writer.add("Softmax", SHAPE)
    with pytest.raises(IRFormatError, match="unsupported type 'Softmax'"):
        load_ir(writer.write(tmp_path))
    writer = IRWriter(5)
    writer.add("Input", SHAPE)
    writer.add("Pooling", (1, 4, 2, 2), pool_data(5, "max", "floor"))  # really 3x3
    with pytest.raises(IRFormatError, match=r"layer 1 gives \(1, 4, 3, 3\)"):
        load_ir(writer.write(tmp_path))


def test_unreadable_files_are_a_format_error(tmp_path: Path) -> None:
    (tmp_path / "net.xml").write_text("not xml")
    (tmp_path / "net.bin").write_bytes(b"")
    with pytest.raises(IRFormatError, match="cannot read"):
        read_ir(tmp_path / "net.xml")
