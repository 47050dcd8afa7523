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
