"""`facecloak compare`: same person or not, and photos without a face."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image


def test_compare_different_people(photos, cli) -> None:
    code, out, _ = cli("compare", str(photos["hopper"]), str(photos["astronaut"]), "--json")
    assert code == 0
    payload = json.loads(out)
    assert payload["threshold"] == pytest.approx(0.6)
    assert payload["same"] is False and payload["distance"] > 0.6


def test_compare_same_photo_resized(photos, cli, tmp_path: Path) -> None:
    resized = tmp_path / "hopper_small.jpg"
    image = Image.open(photos["hopper"])
    image.resize((image.width * 3 // 4, image.height * 3 // 4)).save(resized, quality=85)
    code, out, _ = cli("compare", str(photos["hopper"]), str(resized))
    assert code == 0 and "SAME person" in out


def test_compare_names_the_image_without_a_face(photos, cli) -> None:
    code, _, err = cli("compare", str(photos["hopper"]), str(photos["blank"]))
    assert code == 1
    assert str(photos["blank"]) in err and "no face" in err
    assert str(photos["hopper"]) not in err


def test_unknown_detector_is_refused_before_any_work(cli, no_work, photo) -> None:
    cli("compare", photo, photo, "--detector", "foo").assert_refused("--detector", "'foo'", "hog")


def test_compare_all_gives_one_verdict_per_usable_recognizer(photos, cli) -> None:
    from facecloak.recognition import usable_recognizers

    code, out, _ = cli(
        "compare", str(photos["hopper"]), str(photos["astronaut"]), "--all", "--json"
    )
    assert code == 0
    payload = json.loads(out)
    names = [v["recognizer"] for v in payload["verdicts"]]
    assert names == list(usable_recognizers()) and names[0] == "dlib"
    assert payload["matched_by"] == sum(v["same"] for v in payload["verdicts"]) == 0


def test_compare_all_prints_a_line_per_recognizer(photos, cli) -> None:
    code, out, _ = cli("compare", str(photos["hopper"]), str(photos["hopper"]), "--all")
    assert code == 0
    assert "dlib" in out and "SAME person" in out
    assert out.strip().endswith("recognizers take them for the same person")
