from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facecloak.errors import ImageLoadError
from facecloak.images import as_rgb_array, load_image, read_image

_XS, _YS = np.meshgrid(np.arange(64) * 4, np.arange(48) * 5)
GRADIENT = np.dstack([_XS, _YS, np.full((48, 64), 7)]).astype(np.uint8)


def _save(image: Image.Image, path: Path, **kw) -> Path:
    image.save(path, **kw)
    return path


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp", ".tif", ".bmp"])
def test_formats_load_as_rgb_uint8(tmp_path: Path, suffix: str) -> None:
    path = _save(Image.fromarray(GRADIENT), tmp_path / f"img{suffix}")
    rgb = load_image(path)
    assert rgb.shape == (48, 64, 3) and rgb.dtype == np.uint8
    if suffix in (".png", ".tif", ".bmp"):
        np.testing.assert_array_equal(rgb, GRADIENT)


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    path = _save(Image.fromarray(GRADIENT), tmp_path / "rotated.jpg", exif=exif.tobytes())
    loaded = read_image(path)
    assert loaded.rgb.shape == (64, 48, 3)
    # Rotated 90 degrees clockwise: the original's top-left corner is now the top-right.
    assert abs(int(loaded.rgb[0, -1, 0]) - int(GRADIENT[0, 0, 0])) < 12
    assert loaded.exif is not None and 0x0112 not in _parse_exif(loaded.exif)


def _parse_exif(raw: bytes) -> Image.Exif:
    exif = Image.Exif()
    exif.load(raw)
    return exif


def test_rgba_is_composited_on_white_and_alpha_kept(tmp_path: Path) -> None:
    rgba = np.zeros((8, 8, 4), dtype=np.uint8)
    rgba[..., 0] = 200
    rgba[:4, :, 3] = 255
    loaded = read_image(_save(Image.fromarray(rgba, "RGBA"), tmp_path / "a.png"))
    assert tuple(loaded.rgb[0, 0]) == (200, 0, 0)
    assert tuple(loaded.rgb[7, 0]) == (255, 255, 255)
    assert loaded.alpha is not None and loaded.alpha[7, 0] == 0


def test_grayscale_becomes_three_equal_channels(tmp_path: Path) -> None:
    gray = GRADIENT[..., 0]
    rgb = load_image(_save(Image.fromarray(gray, "L"), tmp_path / "g.png"))
    assert rgb.shape == (48, 64, 3)
    np.testing.assert_array_equal(rgb[..., 0], gray)
    np.testing.assert_array_equal(rgb[..., 2], gray)


def test_16_bit_grayscale_is_scaled_to_8_bit(tmp_path: Path) -> None:
    deep = (np.linspace(0, 65535, 64 * 48).reshape(48, 64)).astype(np.uint16)
    rgb = load_image(_save(Image.fromarray(deep), tmp_path / "deep.png"))
    assert rgb.dtype == np.uint8
    assert rgb[0, 0, 0] == 0 and rgb[-1, -1, 0] == 255


def test_cmyk_jpeg_is_converted(tmp_path: Path) -> None:
    cmyk = Image.fromarray(GRADIENT).convert("CMYK")
    rgb = load_image(_save(cmyk, tmp_path / "cmyk.jpg", quality=95))
    assert rgb.shape == (48, 64, 3)
    assert np.abs(rgb.astype(int) - GRADIENT.astype(int)).mean() < 6


def test_palette_with_transparency(tmp_path: Path) -> None:
    image = Image.fromarray(GRADIENT).convert("P")
    image.info["transparency"] = 0
    rgb = load_image(_save(image, tmp_path / "p.png", transparency=0))
    assert rgb.shape == (48, 64, 3)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ImageLoadError, match="no such file"):
        load_image(tmp_path / "nope.jpg")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.jpg"
    path.touch()
    with pytest.raises(ImageLoadError, match="empty"):
        load_image(path)


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(ImageLoadError, match="is a directory"):
        load_image(tmp_path)


def test_text_file_named_jpg(tmp_path: Path) -> None:
    path = tmp_path / "notes.jpg"
    path.write_text("these are not pixels\n" * 10)
    with pytest.raises(ImageLoadError, match="not an image"):
        load_image(path)


def test_truncated_jpeg(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (256, 256, 3), np.uint8)).save(
        buffer, "JPEG"
    )
    path = tmp_path / "cut.jpg"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(ImageLoadError, match="damaged or truncated"):
        load_image(path)


def test_50_megapixel_image_is_refused_before_decoding(tmp_path: Path) -> None:
    path = tmp_path / "huge.png"
    Image.new("L", (10_000, 5_000)).save(path, optimize=False)
    with pytest.raises(ImageLoadError, match=r"50\.0 MP\), above the 40 MP limit"):
        load_image(path)


def test_size_limit_can_be_raised(tmp_path: Path) -> None:
    path = _save(Image.fromarray(GRADIENT), tmp_path / "small.png")
    with pytest.raises(ImageLoadError, match="limit"):
        load_image(path, max_pixels=100)
    assert load_image(path, max_pixels=0).shape == (48, 64, 3)


def test_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(ImageLoadError) as info:
        load_image(path)
    assert str(path) in str(info.value)


def test_as_rgb_array_accepts_floats_gray_and_rgba() -> None:
    assert as_rgb_array(np.ones((4, 5), dtype=np.float32)).tolist()[0][0] == [255, 255, 255]
    assert as_rgb_array(np.zeros((4, 5, 4), dtype=np.uint8)).shape == (4, 5, 3)
    with pytest.raises(ValueError, match="shape"):
        as_rgb_array(np.zeros((4, 5, 2), dtype=np.uint8))


def test_as_rgb_array_accepts_every_documented_input(tmp_path: Path) -> None:
    expected = as_rgb_array(GRADIENT)
    rgba = np.dstack([GRADIENT, np.full((48, 64), 9, dtype=np.uint8)])
    np.testing.assert_array_equal(as_rgb_array(rgba), expected)  # alpha left out
    np.testing.assert_array_equal(as_rgb_array(GRADIENT.astype(np.float64) / 255.0), expected)
    np.testing.assert_array_equal(as_rgb_array(Image.fromarray(GRADIENT)), expected)
    path = _save(Image.fromarray(GRADIENT), tmp_path / "g.png")
    np.testing.assert_array_equal(as_rgb_array(path), expected)
    np.testing.assert_array_equal(as_rgb_array(str(path)), expected)
    gray = as_rgb_array(GRADIENT[..., 0])
    assert gray.shape == (48, 64, 3) and (gray[..., 1] == GRADIENT[..., 0]).all()


@pytest.mark.parametrize("values", [GRADIENT.astype(np.float64), np.full((4, 4, 3), np.nan)])
def test_as_rgb_array_rejects_floats_outside_unit_range(values: np.ndarray) -> None:
    with pytest.raises(ValueError, match=r"outside \[0, 1\]; divide by 255"):
        as_rgb_array(values)
