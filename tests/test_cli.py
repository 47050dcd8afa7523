from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facecloak.cli import main


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from facecloak.data import write_samples

    folder = tmp_path_factory.mktemp("photos")
    astronaut, hopper, _ = write_samples(folder)
    blank = folder / "blank.png"
    Image.fromarray(np.full((200, 300, 3), 90, dtype=np.uint8)).save(blank)
    text = folder / "notes.jpg"
    text.write_text("not an image\n")
    empty = folder / "empty.jpg"
    empty.touch()
    return {
        "astronaut": astronaut,
        "hopper": hopper,
        "blank": blank,
        "text": text,
        "empty": empty,
        "dir": folder,
    }


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_detect_json_lists_faces_with_landmarks(photos, capsys) -> None:
    code, out, _ = run(["detect", str(photos["hopper"]), "--json"], capsys)
    assert code == 0
    payload = json.loads(out)
    assert payload["ok"] and len(payload["faces"]) == 1
    assert len(payload["faces"][0]["landmarks"]) == 5


def test_detect_draw_saves_an_annotated_picture(photos, capsys, tmp_path: Path) -> None:
    out_png = tmp_path / "drawn.png"
    code, out, _ = run(
        ["detect", str(photos["astronaut"]), "--detector", "hog", "--draw", str(out_png)], capsys
    )
    assert code == 0 and "face" in out
    drawn = np.asarray(Image.open(out_png))
    assert drawn.shape == (512, 512, 3)
    assert (drawn != np.asarray(Image.open(photos["astronaut"]))).any()


def test_detect_refuses_to_draw_over_its_input(photos, capsys) -> None:
    code, _, err = run(["detect", str(photos["blank"]), "--draw", str(photos["blank"])], capsys)
    assert code == 1 and "overwrite" in err


def test_detect_reports_zero_faces(photos, capsys) -> None:
    code, out, _ = run(["detect", str(photos["blank"])], capsys)
    assert code == 0 and "0 faces" in out


@pytest.mark.parametrize(
    ("name", "message"),
    [("text", "not an image"), ("empty", "empty"), ("dir", "is a directory")],
)
def test_bad_input_fails_with_one_clear_line(photos, capsys, name: str, message: str) -> None:
    code, _out, err = run(["detect", str(photos[name])], capsys)
    assert code == 1
    assert message in err and str(photos[name]) in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_missing_file_fails_in_json_mode_too(photos, capsys) -> None:
    code, out, err = run(["detect", str(photos["dir"] / "missing.jpg"), "--json"], capsys)
    assert code == 1
    assert json.loads(out) == {"ok": False, "error": json.loads(out)["error"]}
    assert "no such file" in err


def test_huge_image_is_refused_with_advice(capsys, tmp_path: Path) -> None:
    huge = tmp_path / "huge.png"
    Image.new("RGB", (10_000, 5_000)).save(huge)
    code, _, err = run(["detect", str(huge)], capsys)
    assert code == 1 and "50.0 MP" in err and "--max-pixels" in err


def test_compare_different_people(photos, capsys) -> None:
    code, out, _ = run(
        ["compare", str(photos["hopper"]), str(photos["astronaut"]), "--json"], capsys
    )
    assert code == 0
    payload = json.loads(out)
    assert payload["threshold"] == pytest.approx(0.6)
    assert payload["same"] is False and payload["distance"] > 0.6


def test_compare_same_photo_resized(photos, capsys, tmp_path: Path) -> None:
    resized = tmp_path / "hopper_small.jpg"
    image = Image.open(photos["hopper"])
    image.resize((image.width * 3 // 4, image.height * 3 // 4)).save(resized, quality=85)
    code, out, _ = run(["compare", str(photos["hopper"]), str(resized)], capsys)
    assert code == 0 and "SAME person" in out


def test_compare_names_the_image_without_a_face(photos, capsys) -> None:
    code, _, err = run(["compare", str(photos["hopper"]), str(photos["blank"])], capsys)
    assert code == 1
    assert str(photos["blank"]) in err and "no face" in err
    assert str(photos["hopper"]) not in err
