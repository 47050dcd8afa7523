from __future__ import annotations

import numpy as np
import pytest
import torch

from facecloak.imaging import jpeg75, jpeg_roundtrip, quantise, to_batch, to_tensor, to_uint8


def test_uint8_round_trip_is_lossless() -> None:
    rgb = np.random.default_rng(0).integers(0, 256, (7, 5, 3), dtype=np.uint8)
    assert np.array_equal(to_uint8(to_tensor(rgb)), rgb)
    assert np.array_equal(to_uint8(to_batch(rgb))[0], rgb)


def test_to_tensor_shape_dtype_and_range() -> None:
    rgb = np.full((2, 4, 3), 255, dtype=np.uint8)
    rgb.setflags(write=False)  # read-only input is copied, not shared
    tensor = to_tensor(rgb)
    assert tensor.shape == (3, 2, 4) and tensor.dtype == torch.float32
    assert float(tensor.max()) == 1.0
    assert to_batch(rgb, torch.float64).dtype == torch.float64
    assert torch.equal(to_tensor(rgb[::-1, ::-1]), to_tensor(rgb).flip(1, 2))  # negative strides


@pytest.mark.parametrize(
    ("image", "error"),
    [(np.zeros((4, 4), np.uint8), ValueError), (np.zeros((4, 4, 3), np.float32), TypeError)],
)
def test_to_tensor_refuses_other_images(image: np.ndarray, error: type[Exception]) -> None:
    with pytest.raises(error):
        to_tensor(image)


def test_to_uint8_clamps_and_rounds_half_to_even() -> None:
    values = torch.tensor([-1.0, 0.5 / 255, 1.5 / 255, 127.5 / 255, 2.0], dtype=torch.float64)
    pixels = values.view(1, 1, 5).expand(3, 1, 5)
    assert to_uint8(pixels)[0, :, 0].tolist() == [0, 0, 2, 128, 255]


def test_to_uint8_keeps_the_batch_dimension() -> None:
    assert to_uint8(torch.zeros(4, 3, 6, 5)).shape == (4, 6, 5, 3)


def test_quantise_matches_to_uint8() -> None:
    pixels = torch.rand(3, 9, 8, generator=torch.Generator().manual_seed(1))
    expected = torch.from_numpy(to_uint8(pixels)).permute(2, 0, 1).double() / 255
    assert torch.equal(quantise(pixels), expected)


def test_jpeg_roundtrip_changes_pixels_a_little() -> None:
    rgb = np.random.default_rng(2).integers(0, 256, (32, 48, 3), dtype=np.uint8)
    out = jpeg_roundtrip(rgb, 75)
    assert out.shape == rgb.shape and out.dtype == np.uint8
    assert not np.array_equal(out, rgb)
    assert np.array_equal(jpeg75(rgb), out)
    assert (
        np.abs(jpeg_roundtrip(rgb, 100).astype(int) - rgb).mean()
        < np.abs(out.astype(int) - rgb).mean()
    )
