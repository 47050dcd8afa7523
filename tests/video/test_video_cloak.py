"""The photo cloak on every frame's tracked faces (``--method pgd`` on a clip)."""

from __future__ import annotations

import av
import numpy as np
import pytest

from facecloak.video import VideoOptions, protect_video
from facecloak.video.adapters import CloakSettings
from facecloak.video.synthetic import SceneConfig, simulated_detector, write_clip


@pytest.mark.slow
def test_pgd_cloaks_each_tracked_face_slightly(tmp_path):
    config = SceneConfig(width=240, height=180, fps=5, seconds=0.6)
    clip = tmp_path / "clip.mp4"
    truth = write_clip(clip, config)
    options = VideoOptions(
        method="pgd", progress=False, cloak=CloakSettings(strength="low", steps=2, robust=False)
    )
    out = tmp_path / "out.mp4"
    report = protect_video(clip, out, options, simulated_detector(truth, miss_run=0))
    assert report.cloak is not None and report.cloak["face_frames"] >= config.frame_count
    with av.open(str(clip)) as before, av.open(str(out)) as after:
        original = next(before.decode(video=0)).to_ndarray(format="rgb24").astype(int)
        cloaked = next(after.decode(video=0)).to_ndarray(format="rgb24").astype(int)
    x0, y0, x1, y1 = (round(v) for v in truth[0].truths[0].box)
    change = np.abs(cloaked - original)
    assert 0 < change[y0:y1, x0:x1].mean() < 12  # changed, but nothing like a blur


@pytest.mark.slow
def test_perceptual_cloak_warm_starts_a_tracked_face_from_its_previous_frame(tmp_path):
    config = SceneConfig(width=240, height=180, fps=5, seconds=0.6)
    clip = tmp_path / "clip.mp4"
    truth = write_clip(clip, config)
    counts = {}
    for warm in (True, False):
        settings = CloakSettings(strength="low", steps=4, robust=False, warm_start=warm)
        options = VideoOptions(method="perceptual", progress=False, cloak=settings)
        out = tmp_path / f"warm-{warm}.mp4"
        counts[warm] = protect_video(
            clip, out, options, simulated_detector(truth, miss_run=0)
        ).cloak
    cold, warm = counts[False], counts[True]
    assert cold["warm_started"] == 0 and cold["steps"] == 4 * cold["face_frames"]
    assert warm["face_frames"] == cold["face_frames"]
    assert 0 < warm["warm_started"] < warm["face_frames"]  # the first frame starts cold
    assert warm["steps"] == 4 * (warm["face_frames"] - warm["warm_started"]) + warm["warm_started"]
