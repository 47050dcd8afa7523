"""``--keep-face``: the matching person's track is left as it is, everyone else is protected."""

from __future__ import annotations

import pytest
from PIL import Image

from facecloak.data import astronaut
from facecloak.video import VideoOptions, protect_video
from facecloak.video.geometry import iou
from facecloak.video.synthetic import simulated_detector


@pytest.mark.slow
def test_the_kept_person_is_left_out_and_the_other_protected(clip, tmp_path):
    photo = tmp_path / "me.png"
    Image.fromarray(astronaut()).save(photo)
    options = VideoOptions(progress=False, record_boxes=True, keep_faces=(photo,))
    report = protect_video(clip.path, tmp_path / "out.mp4", options, simulated_detector(clip.truth))
    assert report.tracks_kept >= 1
    for frame, drawn in zip(clip.truth, report.boxes, strict=True):
        astronaut_box, hopper = frame.truths[0].box, frame.truths[1]
        assert not any(iou(box, astronaut_box) > 0.3 for box in drawn)
        if hopper.visible >= 0.5:
            assert any(iou(box, hopper.box) > 0.5 for box in drawn)


def test_a_keep_face_photo_without_a_face_is_refused(clip, tmp_path):
    from facecloak.errors import NoFaceError

    blank = tmp_path / "blank.png"
    Image.new("RGB", (64, 64), (90, 90, 90)).save(blank)
    with pytest.raises(NoFaceError, match="--keep-face"):
        protect_video(clip.path, tmp_path / "out.mp4", VideoOptions(keep_faces=(blank,)))
    assert not (tmp_path / "out.mp4").exists()
