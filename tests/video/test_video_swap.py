"""``--method swap`` on clips: each tracked face gets a donor's face, kept along its track."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from facecloak.errors import FacecloakError
from facecloak.video import VideoOptions, protect_video
from facecloak.video.synthetic import SceneConfig, simulated_detector, write_clip


@pytest.fixture
def donors(tmp_path: Path, astronaut, grace_hopper, monkeypatch) -> Path:
    monkeypatch.setenv("FACECLOAK_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "donors"
    folder.mkdir()
    Image.fromarray(grace_hopper).save(folder / "hopper.png")
    Image.fromarray(astronaut).save(folder / "astronaut.png")
    return folder


@pytest.mark.slow
def test_each_track_keeps_one_donor_and_only_faces_change(tmp_path, donors):
    config = SceneConfig(width=320, height=240, fps=5, seconds=1.0)
    clip = tmp_path / "clip.mp4"
    truth = write_clip(clip, config)
    out = tmp_path / "swapped.mp4"
    options = VideoOptions(method="swap", donors=donors, progress=False)
    report = protect_video(clip, out, options, simulated_detector(truth, miss_run=0))
    summary = report.cloak
    assert summary is not None and summary["face_frames"] >= config.frame_count
    assert summary["donors_chosen"] <= report.tracks < summary["face_frames"]
    with av.open(str(clip)) as before, av.open(str(out)) as after:
        original = next(before.decode(video=0)).to_ndarray(format="rgb24").astype(int)
        swapped = next(after.decode(video=0)).to_ndarray(format="rgb24").astype(int)
    x0, y0, x1, y1 = (round(v) for v in truth[0].truths[0].box)
    change = np.abs(swapped - original).max(axis=2)
    assert change[y0:y1, x0:x1].mean() > 8  # a different face, not codec noise
    far = np.ones(change.shape, bool)
    for face in truth[0].truths:
        fx0, fy0, fx1, fy1 = (round(v) for v in face.box)
        grow_x, grow_y = (fx1 - fx0), (fy1 - fy0)
        far[max(0, fy0 - grow_y) : fy1 + grow_y, max(0, fx0 - grow_x) : fx1 + grow_x] = False
    assert np.percentile(change[far], 99) < 12  # the rest: re-encoding noise only


def test_swap_without_donors_is_refused_in_one_line(tmp_path):
    config = SceneConfig(width=160, height=120, fps=5, seconds=0.4, audio=False)
    clip = tmp_path / "clip.mp4"
    write_clip(clip, config)
    with pytest.raises(FacecloakError, match="--donors"):
        protect_video(clip, tmp_path / "out.mp4", VideoOptions(method="swap", progress=False))
    assert not (tmp_path / "out.mp4").exists()
