"""`facecloak evaluate-detection`: protect a folder, run detectors before and after."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


@pytest.fixture(scope="module")
def folder(tmp_path_factory, astronaut, grace_hopper) -> Path:
    """Two faces (the astronaut's labelled in boxes.csv) and a photo with none, in sub-folders."""
    root = tmp_path_factory.mktemp("evaluate_detection")
    Image.fromarray(astronaut).save(root / "astronaut.png")
    (root / "more").mkdir()
    Image.fromarray(grace_hopper).save(root / "more" / "hopper.jpg")
    Image.fromarray(np.full((80, 80, 3), 200, np.uint8)).save(root / "more" / "wall.png")
    (root / "boxes.csv").write_text("path,left,top,width,height\nastronaut.png,176,68,92,104\n")
    return root


def test_blur_json_and_report(folder, cli, tmp_path: Path) -> None:
    code, out, _ = cli(
        "evaluate-detection",
        str(folder),
        "--method",
        "blur",
        "--detectors",
        "centerface,hog",
        "--json",
        "--report",
        str(tmp_path / "report"),
    )
    assert code == 0
    payload = json.loads(out)
    assert payload["ok"] and payload["photos"] == 3 and payload["labelled_faces"] == 1
    centerface = payload["detectors"]["centerface"]
    assert centerface["original"]["detection_rate"] == 1.0
    assert centerface["original"]["recall"] == 1.0
    assert centerface["protected"]["detection_rate"] == 0.0
    assert centerface["protected"]["recall"] == 0.0
    assert payload["face_ssim_mean"] < 0.8
    assert Path(payload["report"]["grid"]).is_file()
    assert "| hog |" in Path(payload["report"]["markdown"]).read_text()


def test_limit_and_human_summary(folder, cli) -> None:
    code, out, _ = cli(
        "evaluate-detection", str(folder), "--method", "blur", "--detectors", "hog", "--limit", "1"
    )
    assert code == 0
    assert out.startswith("1 photos, blur:")
    assert "hog (-): detection rate" in out and "recall 1.000 -> 0.000" in out


def test_unknown_detector_is_refused_before_any_work(folder, cli, no_work) -> None:
    outcome = cli("evaluate-detection", folder, "--method", "blur", "--detectors", "nope", "--json")
    outcome.assert_refused("--detectors", "'nope'", "centerface")
    assert json.loads(outcome.out)["ok"] is False


def test_missing_box_labels_name_the_file(folder, cli, tmp_path: Path) -> None:
    code, _, err = cli("evaluate-detection", str(folder), "--boxes", str(tmp_path / "none.csv"))
    assert code == 1 and "none.csv" in err


def test_cloak_settings_reach_protect(folder, cli, monkeypatch) -> None:
    import facecloak.protect
    from facecloak.protect import ProtectConfig

    classical = facecloak.protect.protect
    calls = []

    def protect(image, config: ProtectConfig):
        calls.append((config.against, config.eps, config.steps, config.robust, config.evade))
        return classical(image, ProtectConfig(method="blur"))

    monkeypatch.setattr(facecloak.protect, "protect", protect)
    code, out, _ = cli(
        "evaluate-detection",
        str(folder),
        "--against",
        "both",
        "--eps",
        "0.03",
        "--steps",
        "40",
        "--detectors",
        "centerface,hog",
        "--attack-detectors",
        "centerface",
        "--json",
    )
    assert code == 0
    assert calls[0] == ("both", 0.03, 40, True, ("centerface",)) and len(calls) == 3
    payload = json.loads(out)
    assert payload["settings"]["eps"] == 0.03
    roles = {name: entry["role"] for name, entry in payload["detectors"].items()}
    assert roles == {"centerface": "white-box", "hog": "transfer"}


BAD_VALUES = [
    ("--method", "pgd"),
    ("--method", "foo"),
    ("--against", "recognition"),
    ("--against", "foo"),
    ("--eps", "0"),
    ("--eps", "-5"),
    ("--eps", "1.5"),
    ("--eps", "nan"),
    ("--steps", "0"),
    ("--steps", "-3"),
    ("--steps", "2.5"),
    ("--detectors", "foo"),
    ("--detectors", ","),
    ("--attack-detectors", "hog"),
    ("--attack-detectors", "foo"),
    ("--limit", "0"),
    ("--limit", "-1"),
]


@pytest.mark.parametrize(("option", "value"), BAD_VALUES)
def test_bad_values_are_refused_before_any_work(cli, no_work, tmp_path, option, value) -> None:
    cli("evaluate-detection", tmp_path, option, value).assert_refused(option, repr(value))


@pytest.mark.parametrize(
    "cloak_option",
    [
        ["--eps", "0.03"],
        ["--steps", "5"],
        ["--against", "both"],
        ["--attack-detectors", "yunet"],
        ["--no-robust"],
    ],
)
def test_cloak_options_with_a_classical_method_are_refused(
    cli, no_work, tmp_path, cloak_option
) -> None:
    outcome = cli("evaluate-detection", tmp_path, "--method", "blur", *cloak_option)
    outcome.assert_refused(cloak_option[0], "--method cloak", "blur")


def test_report_in_place_of_a_file_is_refused(cli, no_work, tmp_path: Path) -> None:
    (tmp_path / "report").write_text("x")
    outcome = cli("evaluate-detection", tmp_path, "--report", tmp_path / "report")
    outcome.assert_refused("--report", "is a file")
