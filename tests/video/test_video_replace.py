"""``--method replace`` on clips: each tracked face gets a generated person, kept along its
track."""

from __future__ import annotations

import av
import numpy as np
import pytest

from facecloak.video import VideoOptions, protect_video
from facecloak.video.replace import FrameReplace
from facecloak.video.synthetic import SceneConfig, simulated_detector, write_clip


def test_a_face_keeps_its_draw_from_frame_to_frame_and_a_new_face_gets_the_next(astronaut):
    replace = FrameReplace()
    box = (178.0, 52.0, 276.0, 176.0)  # the astronaut's face
    moved = (182.0, 54.0, 280.0, 178.0)
    first = replace(astronaut, [box])
    second = replace(astronaut, [moved])
    assert replace.summary() == {"face_frames": 2, "people_drawn": 1}
    assert np.abs(first.astype(int) - astronaut).max() > 30  # a new face
    # The same draw on the same photo paints (almost) the same new face.
    x0, y0, x1, y1 = (int(v) for v in box)
    same = np.abs(first[y0:y1, x0:x1].astype(int) - second[y0:y1, x0:x1]).mean()
    assert same < 12
    replace(astronaut, [(10.0, 300.0, 110.0, 420.0)])  # far away: another person
    assert replace.summary()["people_drawn"] == 2


@pytest.mark.slow
def test_each_track_is_replaced_and_the_rest_of_the_frame_kept(tmp_path):
    config = SceneConfig(width=320, height=240, fps=5, seconds=1.0)
    clip = tmp_path / "clip.mp4"
    truth = write_clip(clip, config)
    out = tmp_path / "replaced.mp4"
    report = protect_video(
        clip, out, VideoOptions(method="replace", progress=False), simulated_detector(truth, 0)
    )
    summary = report.cloak
    assert summary is not None and summary["face_frames"] >= config.frame_count
    assert 1 <= summary["people_drawn"] <= report.tracks
    with av.open(str(clip)) as before, av.open(str(out)) as after:
        original = next(before.decode(video=0)).to_ndarray(format="rgb24").astype(int)
        replaced = next(after.decode(video=0)).to_ndarray(format="rgb24").astype(int)
    change = np.abs(replaced - original).max(axis=2)
    far = np.ones(change.shape, bool)
    for face in truth[0].truths:
        fx0, fy0, fx1, fy1 = (round(v) for v in face.box)
        grow_x, grow_y = (fx1 - fx0), (fy1 - fy0)
        far[max(0, fy0 - grow_y) : fy1 + grow_y, max(0, fx0 - grow_x) : fx1 + grow_x] = False
    assert np.percentile(change[far], 99) < 12  # the rest: re-encoding noise only
