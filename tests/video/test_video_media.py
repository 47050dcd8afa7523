from __future__ import annotations

import numpy as np
from PIL import Image

from facecloak.video.media import is_video, location_free, open_video
from facecloak.video.synthetic import SceneConfig, write_clip


def test_photos_and_text_are_not_videos_but_clips_are(clip, tmp_path):
    photo = tmp_path / "photo.png"
    Image.new("RGB", (8, 8)).save(photo)
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    assert is_video(clip.path)
    assert not is_video(photo) and not is_video(notes) and not is_video(tmp_path / "missing.mp4")


def test_a_clip_under_another_name_is_still_a_video(clip, tmp_path):
    renamed = tmp_path / "holiday.bin"
    renamed.write_bytes(clip.path.read_bytes())
    assert is_video(renamed)


def test_location_tags_are_dropped_unless_kept():
    tags = {"title": "t", "location": "+1+2/", "location-eng": "+1+2/", "GPSCoordinates": "x"}
    assert location_free(tags) == {"title": "t"}
    assert location_free(tags, keep_location=True) == tags


def test_reader_reports_size_rate_and_count(clip):
    with open_video(clip.path) as reader:
        assert (reader.width, reader.height) == (clip.config.width, clip.config.height)
        assert reader.rate == clip.config.fps and reader.frame_count == clip.config.frame_count
        assert reader.rotation == 0 and len(reader.audio) == 1


def test_frames_from_seeks_to_the_same_frame_as_decoding_from_the_start(tmp_path):
    path = tmp_path / "long.mp4"
    write_clip(path, SceneConfig(width=160, height=120, fps=10, seconds=4.0, audio=False))
    with open_video(path) as reader:
        frames = [frame.rgb for frame in reader.frames()]
    with open_video(path) as reader:
        found = next(iter(reader.frames_from(27)))
    assert found.index == 27 and np.array_equal(found.rgb, frames[27])
