"""`facecloak detect`: faces found, drawn, and inputs it cannot read."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def test_detect_json_lists_faces_with_landmarks(photos, cli) -> None:
    code, out, _ = cli("detect", str(photos["hopper"]), "--json")
    assert code == 0
    payload = json.loads(out)
    assert payload["ok"] and len(payload["faces"]) == 1
    assert len(payload["faces"][0]["landmarks"]) == 5


def test_detect_draw_saves_an_annotated_picture(photos, cli, tmp_path: Path) -> None:
    out_png = tmp_path / "drawn.png"
    code, out, _ = cli(
        "detect", str(photos["astronaut"]), "--detector", "hog", "--draw", str(out_png)
    )
    assert code == 0 and "face" in out
    drawn = np.asarray(Image.open(out_png))
    assert drawn.shape == (512, 512, 3)
    assert (drawn != np.asarray(Image.open(photos["astronaut"]))).any()


def test_detect_refuses_to_draw_over_its_input(photos, cli) -> None:
    code, _, err = cli("detect", str(photos["blank"]), "--draw", str(photos["blank"]))
    assert code == 2 and "overwrite" in err


def test_detect_reports_zero_faces(photos, cli) -> None:
    code, out, _ = cli("detect", str(photos["blank"]))
    assert code == 0 and "0 faces" in out


@pytest.mark.parametrize(
    ("name", "message"),
    [("text", "not an image"), ("empty", "empty"), ("dir", "is a directory")],
)
def test_bad_input_fails_with_one_clear_line(photos, cli, name: str, message: str) -> None:
    code, _out, err = cli("detect", str(photos[name]))
    assert code == 1
    assert message in err and str(photos[name]) in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_missing_file_fails_in_json_mode_too(photos, cli) -> None:
    code, out, err = cli("detect", str(photos["dir"] / "missing.jpg"), "--json")
    assert code == 1
    assert json.loads(out) == {"ok": False, "error": json.loads(out)["error"]}
    assert "no such file" in err


def test_huge_image_is_refused_with_advice(cli, tmp_path: Path) -> None:
    huge = tmp_path / "huge.png"
    Image.new("RGB", (10_000, 5_000)).save(huge)
    code, _, err = cli("detect", str(huge))
    assert code == 1 and "50.0 MP" in err and "--max-pixels" in err


def test_unknown_detector_is_refused_with_the_choices(cli, no_work, photo) -> None:
    outcome = cli("detect", photo, "--detector", "foo")
    outcome.assert_refused("--detector", "'foo'", "centerface", "yunet")


@pytest.mark.parametrize("name", ["out.txt", "out", "out.pdf"])
def test_draw_needs_an_image_suffix(cli, no_work, photo, tmp_path: Path, name: str) -> None:
    outcome = cli("detect", photo, "--draw", tmp_path / name)
    outcome.assert_refused("--draw", name, ".png", ".jpg")
    assert not (tmp_path / name).exists()


def test_draw_does_not_replace_a_file_without_overwrite(cli, no_work, photo, tmp_path) -> None:
    existing = tmp_path / "faces.png"
    existing.write_bytes(b"keep me")
    cli("detect", photo, "--draw", existing, "--json").assert_refused("--draw", "--overwrite")
    assert existing.read_bytes() == b"keep me"


def test_draw_replaces_a_file_with_overwrite(cli, photos, tmp_path: Path) -> None:
    existing = tmp_path / "faces.png"
    existing.write_bytes(b"replace me")
    code, out, _ = cli("detect", photos["blank"], "--draw", existing, "--overwrite")
    assert code == 0 and "drawn:" in out
    assert Image.open(existing).size == (300, 200)


@pytest.mark.parametrize(
    ("where", "problem"),
    [("missing/faces.png", "does not exist"), ("file.png/faces.png", "is not a folder")],
)
def test_draw_needs_an_existing_folder(cli, no_work, photo, tmp_path, where, problem) -> None:
    (tmp_path / "file.png").write_bytes(b"a file")
    outcome = cli("detect", photo, "--draw", tmp_path / where)
    outcome.assert_refused("--draw", where, problem)


def test_draw_refuses_a_folder(cli, no_work, photo, tmp_path: Path) -> None:
    (tmp_path / "folder.png").mkdir()
    cli("detect", photo, "--draw", tmp_path / "folder.png").assert_refused("--draw", "is a folder")
