from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facecloak.cli import main


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


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_blur_json_and_report(folder, capsys, tmp_path: Path) -> None:
    code, out, _ = run(
        [
            "evaluate-detection",
            str(folder),
            "--method",
            "blur",
            "--detectors",
            "centerface,hog",
            "--json",
            "--report",
            str(tmp_path / "report"),
        ],
        capsys,
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


def test_limit_and_human_summary(folder, capsys) -> None:
    code, out, _ = run(
        [
            "evaluate-detection",
            str(folder),
            "--method",
            "blur",
            "--detectors",
            "hog",
            "--limit",
            "1",
        ],
        capsys,
    )
    assert code == 0
    assert out.startswith("1 photos, blur:")
    assert "hog (-): detection rate" in out and "recall 1.000 -> 0.000" in out


def test_unknown_detector_fails_with_one_clear_line(folder, capsys) -> None:
    code, out, err = run(
        ["evaluate-detection", str(folder), "--method", "blur", "--detectors", "nope", "--json"],
        capsys,
    )
    assert code == 1
    assert json.loads(out)["ok"] is False
    assert "unknown detector 'nope'" in err and "Traceback" not in err


def test_missing_box_labels_name_the_file(folder, capsys, tmp_path: Path) -> None:
    code, _, err = run(
        ["evaluate-detection", str(folder), "--boxes", str(tmp_path / "none.csv")], capsys
    )
    assert code == 1 and "none.csv" in err


def test_cloak_settings_reach_protect(folder, capsys, monkeypatch) -> None:
    import facecloak.protect

    classical = facecloak.protect.protect
    calls = []

    def protect(image, *, against="recognition", eps=0.0, steps=0, robust=False, **rest):
        calls.append((against, eps, steps, robust, rest.get("evasion_detectors")))
        return classical(image, method="blur")

    monkeypatch.setattr(facecloak.protect, "protect", protect)
    code, out, _ = run(
        [
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
        ],
        capsys,
    )
    assert code == 0
    assert calls[0] == ("both", 0.03, 40, True, ("centerface",)) and len(calls) == 3
    payload = json.loads(out)
    assert payload["settings"]["eps"] == 0.03
    roles = {name: entry["role"] for name, entry in payload["detectors"].items()}
    assert roles == {"centerface": "white-box", "hog": "transfer"}
