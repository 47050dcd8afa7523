from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facecloak.errors import FacecloakError
from facecloak.images import read_image
from facecloak.protect.files import (
    discover_inputs,
    output_path,
    write_like_input,
)


def _photo(path: Path, **save_options) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((16, 24, 3), 100, dtype=np.uint8)).save(path, **save_options)
    return path


def test_folders_are_searched_recursively_and_keep_their_layout(tmp_path: Path) -> None:
    _photo(tmp_path / "in" / "a.jpg")
    _photo(tmp_path / "in" / "trip" / "b.png")
    (tmp_path / "in" / "notes.txt").write_text("not a photo")
    found = discover_inputs([tmp_path / "in"])
    assert [str(rel) for _, rel in found] == ["a.jpg", "trip/b.png"]


def test_missing_input_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FacecloakError, match="no such file"):
        discover_inputs([tmp_path / "nope"])


def test_outputs_never_replace_inputs_or_existing_files(tmp_path: Path) -> None:
    source = _photo(tmp_path / "a.jpg")
    with pytest.raises(FacecloakError, match="overwrite an input"):
        output_path(tmp_path, Path("a.jpg"), {source.resolve()}, overwrite=True)
    existing = _photo(tmp_path / "out" / "a.jpg")
    with pytest.raises(FacecloakError, match="--overwrite"):
        output_path(tmp_path / "out", Path("a.jpg"), {source.resolve()}, overwrite=False)
    assert (
        output_path(tmp_path / "out", Path("a.jpg"), {source.resolve()}, overwrite=True) == existing
    )


def test_gps_metadata_is_dropped_unless_kept(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # camera make
    exif[0x8825] = {1: "N", 2: (52.0, 22.0, 0.0)}  # GPS IFD
    loaded = read_image(_photo(tmp_path / "gps.jpg", exif=exif.tobytes()))
    stripped = write_like_input(loaded.rgb, loaded, tmp_path / "out" / "stripped.jpg")
    kept = write_like_input(loaded.rgb, loaded, tmp_path / "out" / "kept.jpg", keep_metadata=True)
    assert not Image.open(stripped).getexif()
    assert Image.open(kept).getexif().get(0x010F) == "PhoneMaker"


def test_png_stays_lossless_and_jpeg_keeps_its_format(tmp_path: Path) -> None:
    rgb = np.random.default_rng(0).integers(0, 255, (16, 24, 3), dtype=np.uint8)
    loaded = read_image(_photo(tmp_path / "a.png"))
    written = write_like_input(rgb, loaded, tmp_path / "out" / "a.png")
    np.testing.assert_array_equal(np.asarray(Image.open(written)), rgb)
    jpeg = write_like_input(rgb, read_image(_photo(tmp_path / "b.jpg")), tmp_path / "out" / "b.jpg")
    assert Image.open(jpeg).format == "JPEG"
    assert not list((tmp_path / "out").glob(".*partial"))


def test_two_inputs_with_one_output_name_are_refused_before_work(tmp_path: Path) -> None:
    first = _photo(tmp_path / "a" / "photo.jpg")
    second = _photo(tmp_path / "b" / "photo.jpg")
    with pytest.raises(FacecloakError, match=r"would both be written as photo\.jpg"):
        discover_inputs([first, second])


def test_an_output_that_is_a_symlink_is_refused(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("someone else's file")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "a.jpg").symlink_to(victim)
    with pytest.raises(FacecloakError, match="symbolic link"):
        output_path(tmp_path / "out", Path("a.jpg"), set(), overwrite=True)
    assert victim.read_text() == "someone else's file"


def test_a_planted_temporary_symlink_is_never_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("someone else's file")
    out = tmp_path / "out"
    out.mkdir()
    (out / ".a.jpg.partial").symlink_to(victim)  # the old, predictable temporary name
    loaded = read_image(_photo(tmp_path / "a.jpg"))
    written = write_like_input(loaded.rgb, loaded, out / "a.jpg")
    assert victim.read_text() == "someone else's file"
    assert Image.open(written).format == "JPEG" and not written.is_symlink()


def test_a_full_disk_leaves_no_photo_and_no_temporary(tmp_path: Path, monkeypatch) -> None:
    import errno

    loaded = read_image(_photo(tmp_path / "a.png"))

    def full(self, fp, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", full)
    with pytest.raises(FacecloakError, match="No space left on device"):
        write_like_input(loaded.rgb, loaded, tmp_path / "out" / "a.png")
    assert list((tmp_path / "out").iterdir()) == []


def test_semi_transparent_pixels_keep_their_colour(tmp_path: Path) -> None:
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[...] = (16, 17, 61, 128)  # the washed-out pixel
    rgba[:4, :4] = (200, 30, 30, 255)
    path = tmp_path / "cutout.png"
    Image.fromarray(rgba, "RGBA").save(path)
    loaded = read_image(path)
    assert tuple(loaded.rgb[7, 7]) != (16, 17, 61)  # composited over white to be protected
    changed = loaded.rgb.copy()
    changed[0, 0] = (10, 200, 10)  # a protected (opaque) pixel
    changed[6, 6] = changed[6, 6] + 20  # a protected semi-transparent one (still reachable)
    written = np.asarray(Image.open(write_like_input(changed, loaded, tmp_path / "out.png")))
    assert tuple(written[7, 7]) == (16, 17, 61, 128)  # untouched: the file's own colour
    alpha = 128 / 255
    seen = written[6, 6, :3] * alpha + 255 * (1 - alpha)  # a viewer composites it over white
    assert np.abs(seen - changed[6, 6]).max() <= 1.0
    assert tuple(written[0, 0]) == (10, 200, 10, 255)
    assert tuple(written[1, 1]) == (200, 30, 30, 255)


def test_a_cmyk_colour_profile_is_not_attached_to_the_rgb_output(tmp_path: Path) -> None:
    header = bytearray(128)
    header[16:20] = b"CMYK"
    path = tmp_path / "print.jpg"
    Image.new("CMYK", (16, 16), (0, 50, 100, 0)).save(path, icc_profile=bytes(header))
    loaded = read_image(path)
    assert loaded.icc_profile is not None
    written = write_like_input(loaded.rgb, loaded, tmp_path / "out" / "print.jpg")
    assert Image.open(written).info.get("icc_profile") is None
    header[16:20] = b"RGB "
    rgb_path = tmp_path / "screen.png"
    Image.new("RGB", (16, 16)).save(rgb_path, icc_profile=bytes(header))
    kept = write_like_input(loaded.rgb, read_image(rgb_path), tmp_path / "out" / "screen.png")
    assert Image.open(kept).info.get("icc_profile") == bytes(header)


def test_a_read_only_output_folder_is_one_error_naming_the_file(
    tmp_path: Path, monkeypatch
) -> None:
    import tempfile

    loaded = read_image(_photo(tmp_path / "a.png"))

    def refused(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refused)
    target = tmp_path / "out" / "a.png"
    with pytest.raises(FacecloakError, match=f"{target}: could not be written .*permissions"):
        write_like_input(loaded.rgb, loaded, target)


def test_a_254_character_name_is_written_through_a_short_temporary(tmp_path: Path) -> None:
    loaded = read_image(_photo(tmp_path / "a.png"))
    target = tmp_path / "out" / ("b" * 250 + ".png")
    assert write_like_input(loaded.rgb, loaded, target).is_file()
    assert [p.name for p in (tmp_path / "out").iterdir()] == [target.name]
