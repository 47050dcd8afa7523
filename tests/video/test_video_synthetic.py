"""The generated clips: ground truth that a real detector agrees with, scenes that test tracking."""

from __future__ import annotations

import pytest

from facecloak.video.adapters import make_detector
from facecloak.video.geometry import iou
from facecloak.video.synthetic import SceneConfig, render_frames, simulated_detector

SCENE = SceneConfig(width=320, height=240, fps=25, seconds=3.0)


@pytest.fixture(scope="module")
def frames():
    return list(render_frames(SCENE))


def test_centerface_finds_the_true_boxes_on_unoccluded_frames(frames):
    detect = make_detector("centerface")
    checked = 0
    for frame in frames[::8]:
        found = detect(frame.rgb)
        for truth in frame.truths:
            if truth.visible == 1.0:
                assert max((iou(box, truth.box) for box in found), default=0.0) > 0.5
                checked += 1
    assert checked >= 8


def test_the_scene_has_exits_reentries_and_occlusion(frames):
    hopper = [frame.truths[1].visible for frame in frames]
    astronaut = [frame.truths[0].visible for frame in frames]
    assert hopper[0] == 1.0 and min(hopper) == 0.0 and hopper[-1] == 1.0
    assert min(astronaut) < 0.5 and astronaut[0] == astronaut[-1] == 1.0
    assert any(frame.occluder is not None for frame in frames)
    sizes = [frame.truths[0].box[3] - frame.truths[0].box[1] for frame in frames]
    assert sizes[-1] > 1.4 * sizes[0]  # the astronaut zooms in


def test_simulated_misses_are_short_and_deterministic(frames):
    first, second = simulated_detector(frames), simulated_detector(frames)
    runs = [[bool(box) for box in first(frame.rgb)] for frame in frames]
    assert runs == [[bool(box) for box in second(frame.rgb)] for frame in frames]
    found = [len(faces) for faces in runs]
    assert min(found) == 0 and max(found) == 2
