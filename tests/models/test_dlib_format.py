"""The dlib serialization reader: primitive encodings and the face recognizer's .dat file."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pytest

from facecloak.models.dlib_format import (
    AddPrevLayer,
    AffineLayer,
    ConvLayer,
    DlibFormatError,
    DlibNetwork,
    DlibReader,
    FullyConnectedLayer,
    InputRGBLayer,
    MetricLoss,
    PoolLayer,
    ReluLayer,
    TagOrSkipLayer,
    parse_dlib_network,
    read_dlib_network,
)
from facecloak.paths import dlib_model_path


def pack_int(value: int) -> bytes:
    """dlib's compact integer encoding (test-side encoder, written from the format description)."""
    magnitude = abs(value)
    body = magnitude.to_bytes(max(1, (magnitude.bit_length() + 7) // 8), "little")
    return bytes([len(body) | (0x80 if value < 0 else 0)]) + body


def pack_string(text: str) -> bytes:
    return pack_int(len(text)) + text.encode()


@pytest.fixture(scope="module")
def recognizer_path() -> Path:
    return dlib_model_path("recognizer")


@pytest.fixture(scope="module")
def network(recognizer_path: Path) -> DlibNetwork:
    return read_dlib_network(recognizer_path)


# ---------------------------------------------------------------------------------------------
# Primitive encodings


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\x01\x02", 2),
        (b"\x01\x00", 0),
        (b"\x01\xff", 255),
        (b"\x02\x34\x12", 0x1234),
        (b"\x03\x0a\xd7\xa3", 10_737_418),
        (b"\x81\x01", -1),
        (b"\x81\x1c", -28),
        (b"\x82\x00\x01", -256),
        (b"\x08" + (2**63 - 1).to_bytes(8, "little"), 2**63 - 1),
    ],
)
def test_compact_int_examples(data: bytes, expected: int) -> None:
    reader = DlibReader(data)
    assert reader.read_int() == expected
    assert reader.remaining == 0


@pytest.mark.parametrize("value", [0, 1, 127, 128, 255, 256, 65_535, 2**40 + 3, -1, -255, -(2**31)])
def test_compact_int_round_trip(value: int) -> None:
    assert DlibReader(pack_int(value)).read_int() == value


@pytest.mark.parametrize(
    "data",
    [b"\x00", b"\x09" + bytes(9), b"\x11\x00", b"\x40\x00"],
    ids=["zero-size", "too-long", "reserved-bit-0x10", "reserved-bit-0x40"],
)
def test_invalid_int_control_byte_is_an_error_naming_the_source(data: bytes) -> None:
    with pytest.raises(DlibFormatError, match=r"model\.dat: invalid integer control byte"):
        DlibReader(data, source="model.dat").read_int()


def test_truncated_int_is_an_error() -> None:
    with pytest.raises(DlibFormatError, match="wanted 2 bytes but only 1"):
        DlibReader(b"\x02\x01").read_int()


def test_float_is_mantissa_then_exponent() -> None:
    reader = DlibReader(pack_int(10_737_418) + pack_int(-28) + pack_int(-3) + pack_int(1))
    assert reader.read_float() == math.ldexp(10_737_418, -28)
    assert reader.read_float() == -6.0


def test_float32_values_read_as_their_shortest_decimal() -> None:
    data = pack_int(10_066_330) + pack_int(-24)  # float32(0.6) as dlib writes it
    assert DlibReader(data).read_float() == pytest.approx(0.6, abs=1e-7)
    assert DlibReader(data).read_float32() == 0.6


@pytest.mark.parametrize(("exponent", "check"), [(32000, math.isinf), (32002, math.isnan)])
def test_float_special_values(exponent: int, check) -> None:
    assert check(DlibReader(pack_int(0) + pack_int(exponent)).read_float())


def test_old_text_float_format_is_rejected() -> None:
    with pytest.raises(DlibFormatError, match="old text format"):
        DlibReader(b"0.5 ").read_float()


def test_string_and_bool() -> None:
    reader = DlibReader(pack_string("loss_metric_2") + b"10")
    assert reader.read_string() == "loss_metric_2"
    assert reader.read_bool() is True
    assert reader.read_bool() is False
    with pytest.raises(DlibFormatError, match="expected a bool"):
        DlibReader(b"\x01").read_bool()


def test_tensor_is_version_dims_then_little_endian_float32() -> None:
    values = np.arange(6, dtype="<f4") - 2.5
    data = pack_int(2) + b"".join(pack_int(d) for d in (1, 2, 1, 3)) + values.tobytes()
    tensor = DlibReader(data).read_tensor()
    assert tensor.shape == (1, 2, 1, 3)
    assert tensor.dtype == np.float32
    np.testing.assert_array_equal(tensor.reshape(-1), values)
    assert not tensor.flags.writeable


def test_tensor_with_unknown_version_is_rejected() -> None:
    with pytest.raises(DlibFormatError, match="tensor has version 3"):
        DlibReader(pack_int(3) + pack_int(0) * 4).read_tensor()


# ---------------------------------------------------------------------------------------------
# The face recognizer file


def test_file_starts_with_the_metric_loss_header(recognizer_path: Path) -> None:
    with recognizer_path.open("rb") as f:
        head = f.read(17)
    assert head == b"\x01\x01\x01\x0dloss_metric_2"


def test_header_margin_and_threshold(network: DlibNetwork) -> None:
    assert network.loss == MetricLoss(margin=0.04, distance_threshold=0.6)


def test_input_layer_means_and_size(network: DlibNetwork) -> None:
    input_layer = network.layers[0]
    assert isinstance(input_layer, InputRGBLayer)
    assert input_layer.mean_rgb == (122.782, 117.001, 104.298)
    assert input_layer.size == (150, 150)


def test_layer_inventory(network: DlibNetwork) -> None:
    layers = network.layers
    convs = [layer for layer in layers if isinstance(layer, ConvLayer)]
    assert len(convs) == 29
    assert sum(isinstance(layer, AffineLayer) for layer in layers) == 29
    assert sum(isinstance(layer, ReluLayer) for layer in layers) == 29
    assert sum(isinstance(layer, AddPrevLayer) for layer in layers) == 14
    assert sum(isinstance(layer, TagOrSkipLayer) for layer in layers) == 14 + 2 * 4
    pools = [layer for layer in layers if isinstance(layer, PoolLayer)]
    assert [(p.is_max, p.size, p.stride) for p in pools] == [
        (True, (3, 3), (2, 2)),
        *[(False, (2, 2), (2, 2))] * 4,
        (False, (0, 0), (1, 1)),
    ]
    # dlib pads a convolution (and a pool) only when its stride is 1
    for conv in convs:
        expected_padding = (1, 1) if conv.stride == (1, 1) else (0, 0)
        assert conv.padding == expected_padding
    assert convs[0].weight.shape == (32, 3, 7, 7)
    assert all(
        conv.bias is not None and conv.bias.shape == (conv.weight.shape[0],) for conv in convs
    )
    affines = [layer for layer in layers if isinstance(layer, AffineLayer)]
    assert all(affine.conv_mode and not affine.disabled for affine in affines)
    fc = layers[-1]
    assert isinstance(fc, FullyConnectedLayer)
    assert fc.weight.shape == (128, 256)
    assert fc.bias is None


def test_weights_are_finite(network: DlibNetwork) -> None:
    for layer in network.layers:
        for name in ("weight", "bias", "gamma", "beta"):
            values = getattr(layer, name, None)
            if values is not None:
                assert np.isfinite(values).all(), f"{layer.kind}.{name} has non-finite values"


def test_parsing_is_fast(recognizer_path: Path) -> None:
    started = time.perf_counter()
    read_dlib_network(recognizer_path)
    assert time.perf_counter() - started < 2.0


def test_truncated_file_is_an_error_naming_it(recognizer_path: Path, tmp_path: Path) -> None:
    broken = tmp_path / "truncated.dat"
    broken.write_bytes(recognizer_path.read_bytes()[:100_000])
    with pytest.raises(DlibFormatError, match=r"truncated\.dat: wanted \d+ bytes"):
        read_dlib_network(broken)


def test_other_dlib_file_is_an_error_naming_it(tmp_path: Path) -> None:
    other = tmp_path / "shape_predictor.dat"
    other.write_bytes(pack_int(1) + pack_string("something_else"))
    with pytest.raises(DlibFormatError, match=r"shape_predictor\.dat: expected a metric loss"):
        read_dlib_network(other)


def test_missing_file_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(DlibFormatError, match=r"nothing\.dat: cannot read"):
        read_dlib_network(tmp_path / "nothing.dat")


def test_trailing_bytes_are_an_error(recognizer_path: Path) -> None:
    data = recognizer_path.read_bytes() + b"\x00"
    with pytest.raises(DlibFormatError, match="1 unexpected bytes after the network"):
        parse_dlib_network(data, source="padded.dat")
