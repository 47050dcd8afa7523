"""Preparing a labelled folder of public-domain faces into the cache, and reading it back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from facecloak.replace.prepare import held_out, prepare_faces


def _folder(tmp_path: Path, astronaut, grace_hopper) -> Path:
    folder = tmp_path / "faces"
    folder.mkdir()
    Image.fromarray(astronaut).save(folder / "a.png")
    Image.fromarray(grace_hopper).save(folder / "g.png")
    Image.fromarray(np.full((64, 64, 3), 128, np.uint8)).save(folder / "blank.png")
    (folder / "labels.csv").write_text("path,identity\na.png,eileen\ng.png,grace\nblank.png,x\n")
    return folder


def test_faces_are_prepared_once_and_cached(tmp_path, astronaut, grace_hopper, monkeypatch):
    folder = _folder(tmp_path, astronaut, grace_hopper)
    faces = prepare_faces([folder], tmp_path / "cache", progress=False)
    assert len(faces) == 2  # the blank photo has no face
    assert faces.crops.shape == (2, 128, 128, 3) and faces.points.shape == (2, 68, 2)
    assert faces.measures.shape == (2, 12) and faces.held_out.dtype == bool
    import facecloak.replace.prepare as prepare

    monkeypatch.setattr(prepare, "_build", lambda *a: (_ for _ in ()).throw(AssertionError))
    again = prepare_faces([folder], tmp_path / "cache", progress=False)
    assert np.array_equal(again.crops, faces.crops)


def test_about_three_percent_of_identities_are_held_out():
    share = np.mean([held_out(f"person {i}") for i in range(5000)])
    assert 0.02 < share < 0.04 and held_out("person 7") == held_out("person 7")
