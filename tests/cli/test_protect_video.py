"""``facecloak protect`` on clips, through the CLI (the real CenterFace detector)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facecloak.cli import main
from facecloak.video.synthetic import SceneConfig, write_clip


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("mixed")
    write_clip(folder / "clip.mp4", SceneConfig(width=240, height=180, fps=10, seconds=1.0))
    Image.fromarray(np.full((120, 160, 3), 90, dtype=np.uint8)).save(folder / "blank.png")
    (folder / "notes.mp4").write_text("not a video\n")
    return folder


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_protect_a_clip_to_a_named_output(folder, tmp_path, capsys):
    out = tmp_path / "protected.mp4"
    code, stdout, _ = run(["protect", str(folder / "clip.mp4"), "-o", str(out), "--json"], capsys)
    assert code == 0
    item = json.loads(stdout)["videos"][0]
    assert item["status"] == "protected" and item["frames"] == 10 and item["method"] == "blur"
    assert item["audio_streams_copied"] == 1 and out.is_file()


def test_a_folder_mixing_photos_and_clips(folder, tmp_path, capsys):
    clips = tmp_path / "in"
    clips.mkdir()
    for name in ("clip.mp4", "blank.png"):
        (clips / name).write_bytes((folder / name).read_bytes())
    out = tmp_path / "out"
    argv = ["protect", str(clips), "-o", str(out), "--method", "pixelate", "--copy-unprotected"]
    code, stdout, _ = run([*argv, "--json"], capsys)
    payload = json.loads(stdout)
    assert code == 0
    assert [v["status"] for v in payload["videos"]] == ["protected"]
    assert [p["status"] for p in payload["photos"]] == ["copied unchanged"]
    written = sorted(p.name for p in out.iterdir())
    assert written == ["blank.png", "clip.mp4", "facecloak-manifest.jsonl"]


def test_preview_writes_a_png_without_an_output_folder(folder, tmp_path, capsys):
    png = tmp_path / "frame.png"
    argv = ["protect", str(folder / "clip.mp4"), "--preview", str(png), "--preview-frame", "3"]
    code, stdout, _ = run(argv, capsys)
    assert code == 0 and "frame 3" in stdout
    assert Image.open(png).size == (240, 180)


@pytest.mark.parametrize(
    "extra",
    [
        ["--against", "detection"],
        ["--largest"],
        ["--target", "someone.jpg"],
        ["--method", "replace", "--then", "cloak"],
    ],
)
def test_photo_only_options_are_refused_in_one_line(folder, tmp_path, capsys, extra):
    out = tmp_path / "out.mp4"
    code, _, stderr = run(["protect", str(folder / "clip.mp4"), "-o", str(out), *extra], capsys)
    named = extra[-2] if extra[0] == "--method" else extra[0]
    assert code == 1 and f"{named}: not available for video yet" in stderr
    assert stderr.count("\n") == 1 and not out.exists()


def test_a_broken_clip_fails_in_one_line_and_writes_nothing(folder, tmp_path, capsys):
    out = tmp_path / "out.mp4"
    code, _, stderr = run(["protect", str(folder / "notes.mp4"), "-o", str(out)], capsys)
    assert code == 1 and "not a readable video" in stderr and stderr.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_clips_of_several_folders_are_mirrored_each_under_its_name(folder, tmp_path):
    from facecloak.cli.protect_video import split_inputs

    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "clip.mp4").write_bytes((folder / "clip.mp4").read_bytes())
    videos, photos = split_inputs([tmp_path / "a", tmp_path / "b"])
    assert [str(relative) for _, relative in videos] == ["a/clip.mp4", "b/clip.mp4"]
    assert photos == []
    alone, _ = split_inputs([tmp_path / "a"])
    assert [str(relative) for _, relative in alone] == ["clip.mp4"]
