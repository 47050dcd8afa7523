"""``facecloak protect --method swap --donors DIR``: refusals in one line, then a real swap."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facecloak.images import load_image


@pytest.fixture
def donors(tmp_path: Path, photos: dict[str, Path], monkeypatch) -> Path:
    monkeypatch.setenv("FACECLOAK_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "donors"
    folder.mkdir()
    (folder / "hopper.jpg").write_bytes(photos["hopper"].read_bytes())
    return folder


@pytest.mark.parametrize(
    ("options", "names"),
    [
        (["--method", "swap"], ["--method", "'swap' needs --donors"]),
        (["--method", "blur", "--donors", "{folder}"], ["--donors", "--method swap only"]),
        (["--donors", "{folder}"], ["--donors", "--method swap only"]),
        (["--method", "swap", "--donors", "{missing}"], ["--donors", "is not a folder"]),
        (["--method", "swap", "--donors", "{folder}", "--strength", "high"], ["--strength"]),
        (["--method", "swap", "--donors", "{folder}", "--against", "both"], ["--against both"]),
    ],
)
def test_swap_options_that_cannot_work_are_refused(cli, no_work, photo, tmp_path, options, names):
    paths = {"folder": str(tmp_path), "missing": str(tmp_path / "nowhere")}
    options = [option.format(**paths) for option in options]
    cli("protect", photo, "-o", tmp_path / "out", *options).assert_refused(*names)


def test_an_empty_donor_folder_is_one_line(cli, photo, tmp_path):
    (tmp_path / "empty").mkdir()
    outcome = cli(
        "protect", photo, "-o", tmp_path / "out", "--method", "swap", "--donors", tmp_path / "empty"
    )
    assert outcome.code == 1
    assert outcome.err.strip().count("\n") == 0 and "holds no photos" in outcome.err


def test_donors_without_a_face_are_one_line(cli, photo, tmp_path, monkeypatch):
    monkeypatch.setenv("FACECLOAK_CACHE", str(tmp_path / "cache"))
    (tmp_path / "grey").mkdir()
    Image.fromarray(np.full((80, 80, 3), 100, np.uint8)).save(tmp_path / "grey" / "grey.png")
    outcome = cli(
        "protect",
        photo,
        "-o",
        tmp_path / "out",
        "--method",
        "swap",
        "--donors",
        tmp_path / "grey",
        "--json",
    )
    assert outcome.code == 1
    assert "no face found in any of its 1 photos" in json.loads(outcome.out)["error"]


def test_swap_changes_the_face_only(cli, photos, donors, tmp_path):
    outdir = tmp_path / "out"
    outcome = cli(
        "protect",
        photos["astronaut"],
        "-o",
        outdir,
        "--method",
        "swap",
        "--donors",
        donors,
        "--json",
    )
    assert outcome.code == 0, outcome.err
    report = json.loads(outcome.out)["photos"][0]
    assert report["method"] == "swap" and report["settings"] == {"donors": str(donors)}
    before = load_image(photos["astronaut"])
    after = load_image(outdir / "astronaut.png")
    changed = (before != after).any(axis=2)
    assert changed[80:170, 180:270].mean() > 0.3  # the face
    assert not changed[:40].any() and not changed[:, :100].any()  # far from it
