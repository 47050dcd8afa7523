"""What ``protect`` writes and reports: inputs never replaced, metadata never leaked, outcomes
said as they are (issue 14's output-side cases)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

import facecloak.protect.batch as batch
from facecloak.faces import Face
from facecloak.protect import ProtectResult
from facecloak.protect.outcomes import FaceOutcome


def _gps_photo(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (52.0, 22.0, 0.0)}
    Image.fromarray(np.full((64, 64, 3), 90, np.uint8)).save(path, exif=exif.tobytes())
    return path


def test_protecting_a_folder_into_itself_never_replaces_an_original(
    cli, grace_hopper_path: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    original = shutil.copy(grace_hopper_path, folder / "hopper.jpg")
    before = Path(original).read_bytes()
    outcome = cli("protect", folder, "-o", folder, "--method", "blur", "--overwrite", "--json")
    report = json.loads(outcome.out)
    assert outcome.code == 1 and report["ok"] is False
    assert report["photos"][0]["status"] == "error"
    assert "never does" in report["photos"][0]["reason"]
    assert Path(original).read_bytes() == before


def test_copy_unprotected_strips_gps_unless_kept(cli, tmp_path: Path) -> None:
    source = _gps_photo(tmp_path / "in" / "wall.jpg")
    outcome = cli("protect", source, "-o", tmp_path / "out", "--copy-unprotected", "--json")
    assert outcome.code == 0 and json.loads(outcome.out)["ok"] is True
    assert not Image.open(tmp_path / "out" / "wall.jpg").getexif()
    kept = cli("protect", source, "-o", tmp_path / "kept", "--copy-unprotected", "--keep-metadata")
    assert kept.code == 0
    assert (tmp_path / "kept" / "wall.jpg").read_bytes() == source.read_bytes()


def test_two_inputs_with_the_same_name_are_refused(cli, tmp_path: Path) -> None:
    first = _gps_photo(tmp_path / "a" / "photo.jpg")
    second = _gps_photo(tmp_path / "b" / "photo.jpg")
    outcome = cli("protect", first, second, "-o", tmp_path / "out", "--method", "blur")
    assert outcome.code == 1 and "would both be written as photo.jpg" in outcome.err
    assert not (tmp_path / "out").exists()


def _result(flags: list[bool]) -> ProtectResult:
    outcomes = [
        FaceOutcome(i, (0, 0, 1, 1), 1.0 if ok else 0.1, 0.5, 0.6, 1, 1, 1, 0, 1, 1, 0)
        for i, ok in enumerate(flags)
    ]
    faces = [Face((0, 0, 1, 1), 1.0) for _ in flags]
    image = np.zeros((2, 2, 3), np.uint8)
    return ProtectResult(image, image, faces, "perceptual", outcomes=outcomes)


def test_a_photo_is_protected_only_when_every_face_is() -> None:
    assert batch.outcome_status(_result([True, True])) == ("protected", "")
    status, reason = batch.outcome_status(_result([True, False]))
    assert status == "partial" and "1 of 2" in reason
    assert batch.outcome_status(_result([False]))[0] == "failed"


def test_the_summary_counts_each_outcome() -> None:
    report = {"counts": {"protected": 3, "partial": 1, "failed": 2}}
    assert batch.summary_line(report) == "3 protected, 1 partial, 2 failed"


def test_animations_and_gif_palettes_are_refused_with_a_reason(cli, tmp_path: Path) -> None:
    frames = [Image.new("RGB", (32, 32), (i * 40, 0, 0)) for i in range(3)]
    frames[0].save(tmp_path / "loop.png", save_all=True, append_images=frames[1:])
    Image.new("RGB", (32, 32)).save(tmp_path / "still.gif")
    outcome = cli("protect", tmp_path / "loop.png", tmp_path / "still.gif", "-o", tmp_path / "out")
    assert outcome.code == 1
    assert "an animation of 3 frames" in outcome.out + outcome.err
    assert "keeps at most 256 colours" in outcome.out + outcome.err


def _hopper(path: Path) -> Path:
    from facecloak.data import samples

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(samples.grace_hopper()).resize((128, 160)).save(path)
    return path


def test_a_full_output_folder_fails_each_photo_in_one_line_with_valid_json(
    cli, tmp_path: Path, monkeypatch
) -> None:
    import errno
    import tempfile

    _hopper(tmp_path / "in" / "a.jpg")
    _hopper(tmp_path / "in" / "b.jpg")

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tempfile, "mkstemp", full)
    out = tmp_path / "out"
    outcome = cli(
        "protect", tmp_path / "in", "-o", out, "--method", "blur", "--workers", "1", "--json"
    )
    report = json.loads(outcome.out)
    assert outcome.code == 1 and report["ok"] is False and report["counts"] == {"error": 2}
    for photo in report["photos"]:
        assert "could not be written (No space left on device)" in photo["reason"]
    assert "Traceback" not in outcome.err


def test_a_killed_runs_temporary_files_are_removed_by_the_next_run(cli, tmp_path: Path) -> None:
    import os

    _hopper(tmp_path / "in" / "a.jpg")
    out = tmp_path / "out"
    leftover = out / ".a.jpg.k1ll3d_x.partial"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"half a photo")
    os.utime(leftover, (1, 1))
    outcome = cli("protect", tmp_path / "in", "-o", out, "--method", "blur", "--workers", "1")
    assert outcome.code == 0, outcome.err
    assert sorted(p.name for p in out.iterdir()) == ["a.jpg", "facecloak-manifest.jsonl"]
