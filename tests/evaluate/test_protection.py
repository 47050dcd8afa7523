from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facecloak.evaluate.protection import evaluate_protection, write_report


@pytest.fixture(scope="module")
def labelled_folder(tmp_path_factory, astronaut, grace_hopper) -> Path:
    """Two identities, two photos each (the second a smaller, shifted copy)."""
    folder = tmp_path_factory.mktemp("labelled")
    for name, rgb in (("collins", astronaut), ("hopper", grace_hopper)):
        (folder / name).mkdir()
        Image.fromarray(rgb).save(folder / name / "a.png")
        image = Image.fromarray(rgb[8:, 8:])
        image.resize((image.width * 4 // 5, image.height * 4 // 5)).save(folder / name / "b.png")
    blank = folder / "nobody"
    blank.mkdir()
    Image.fromarray(np.full((100, 100, 3), 120, np.uint8)).save(blank / "wall.png")
    (folder / "hopper" / "broken.png").write_bytes(b"not a photo")
    return folder


@pytest.fixture(scope="module")
def blur_report(labelled_folder):
    return evaluate_protection(labelled_folder, method="blur")


def test_unprotected_photos_are_identified_and_blurred_ones_are_not(blur_report) -> None:
    summary = blur_report.summary()
    assert summary["photos"] == 4 and summary["skipped_no_face"] == 1
    assert summary["photos_failed"] == 1 and "broken.png" in summary["failed"][0]
    assert summary["identification_miss_rate"]["unprotected"] == 0.0
    assert summary["verification_protected"]["clean"] == 1.0
    assert summary["face_ssim_mean"] < 0.9


def test_report_files(blur_report, tmp_path: Path) -> None:
    paths = write_report(blur_report, tmp_path)
    payload = json.loads(paths["json"].read_text())
    assert payload["summary"]["method"] == "blur" and len(payload["photos"]) == 4
    assert "| jpeg75 |" in paths["markdown"].read_text()
    grid = Image.open(paths["grid"])
    assert grid.size[0] == 3 * 224 and grid.size[1] >= 224


def test_a_second_recognizer_checks_the_result_too(labelled_folder, tmp_path: Path) -> None:
    from facecloak.errors import ModelNotFoundError
    from facecloak.evaluate.protection import load_judges

    try:
        judges = load_judges(["mobilefacenet"], attacked=False)
    except ModelNotFoundError as exc:
        pytest.skip(f"MobileFaceNet weights absent: {exc}")
    report = evaluate_protection(labelled_folder, method="blur", judges=judges)
    other = report.summary()["other_recognizers"]["mobilefacenet"]
    assert other["role"] == "transfer"
    assert other["identification_miss_rate"]["unprotected"] == 0.0
    assert other["verification_protected"]["clean"] == 1.0  # a blurred face matches nobody
    assert "**mobilefacenet** (transfer)" in write_report(report, tmp_path)["markdown"].read_text()


def test_unknown_second_recognizer_is_refused() -> None:
    from facecloak.evaluate.protection import load_judges

    with pytest.raises(ValueError, match="unknown recognizer"):
        load_judges(["arcface-r100"], attacked=False)
