from __future__ import annotations

import hashlib
from pathlib import Path

import av
import numpy as np
import pytest

from facecloak.errors import FacecloakError, VideoLoadError
from facecloak.video import VideoOptions, protect_video
from facecloak.video.metrics import mask_jitter, unprotected_frames
from facecloak.video.preview import preview_video
from facecloak.video.synthetic import simulated_detector

FAST = VideoOptions(progress=False, record_boxes=True)


def audio_digest(path: Path) -> tuple[int, str]:
    """How many audio packets and the SHA-256 of their bytes, in order."""
    digest, count = hashlib.sha256(), 0
    with av.open(str(path)) as container:
        for packet in container.demux(container.streams.audio[0]):
            if packet.size:
                digest.update(bytes(packet))
                count += 1
    return count, digest.hexdigest()


def video_facts(path: Path) -> dict:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(stream))
        return {
            "frames": len(frames),
            "size": (stream.codec_context.width, stream.codec_context.height),
            "rate": stream.average_rate,
            "codec": stream.codec_context.name,
            "rotation": frames[0].rotation,
            "tags": dict(container.metadata),
            "first": frames[0].to_ndarray(format="rgb24"),
        }


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if "partial" in p.name)


@pytest.fixture(scope="module")
def protected(clip, tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "protected.mp4"
    report = protect_video(clip.path, out, FAST, detector=simulated_detector(clip.truth))
    return out, report


def test_tracking_leaves_no_visible_face_unprotected_through_short_misses(clip, protected):
    _, report = protected
    result = unprotected_frames(clip.truth, report.boxes, (clip.config.width, clip.config.height))
    assert result.frames_with_faces > 0.8 * clip.config.frame_count
    assert result.unprotected_frames == []


def test_without_tracking_the_misses_show(clip, tmp_path):
    options = VideoOptions(progress=False, record_boxes=True, tracking=False)
    report = protect_video(clip.path, tmp_path / "raw.mp4", options, simulated_detector(clip.truth))
    result = unprotected_frames(clip.truth, report.boxes, (clip.config.width, clip.config.height))
    assert result.count >= clip.config.frame_count // 4


def test_detecting_every_third_frame_still_covers_every_frame(clip, tmp_path):
    options = VideoOptions(progress=False, record_boxes=True, detect_every=3)
    detector = simulated_detector(clip.truth, miss_run=1, period=4, detect_every=3)
    report = protect_video(clip.path, tmp_path / "k3.mp4", options, detector)
    result = unprotected_frames(clip.truth, report.boxes, (clip.config.width, clip.config.height))
    assert result.unprotected_frames == []


def test_smoothed_masks_jitter_less_than_raw_detections(clip, protected, tmp_path):
    noisy = simulated_detector(clip.truth, miss_run=0, noise=4.0)
    options = VideoOptions(progress=False, record_boxes=True, tracking=False)
    raw = protect_video(clip.path, tmp_path / "raw.mp4", options, noisy)
    smooth = protect_video(
        clip.path, tmp_path / "smooth.mp4", FAST, simulated_detector(clip.truth, noise=4.0)
    )
    assert mask_jitter(clip.truth, smooth.boxes) < 0.6 * mask_jitter(clip.truth, raw.boxes)


def test_audio_packets_are_copied_bit_identical(clip, protected):
    out, report = protected
    assert report.audio_streams == 1
    assert audio_digest(out) == audio_digest(clip.path)


def test_frame_rate_size_count_and_tags_are_kept_but_location(clip, protected):
    out, _ = protected
    before, after = video_facts(clip.path), video_facts(out)
    for key in ("frames", "size", "rate"):
        assert after[key] == before[key]
    assert after["codec"] == "h264"
    assert after["tags"]["title"] == before["tags"]["title"] == clip.config.metadata["title"]
    assert after["tags"]["comment"] == before["tags"]["comment"]
    assert "location" in before["tags"]
    assert not [key for key in after["tags"] if "location" in key.lower()]


def test_faces_are_obfuscated_and_the_background_kept(clip, protected):
    out, report = protected
    first = video_facts(out)["first"]
    original = video_facts(clip.path)["first"]
    x0, y0, x1, y1 = (round(v) for v in clip.truth[0].truths[0].box)
    face_change = np.abs(first[y0:y1, x0:x1].astype(int) - original[y0:y1, x0:x1]).mean()
    corner_change = np.abs(first[:30, :30].astype(int) - original[:30, :30]).mean()
    assert face_change > 8 * max(corner_change, 0.5)
    assert report.tracks == 2 and report.frames == clip.config.frame_count


def test_rotation_is_kept_and_faces_are_found_upright(rotated_clip, tmp_path):
    out = tmp_path / "rotated.mov"
    report = protect_video(
        rotated_clip.path, out, FAST, detector=simulated_detector(rotated_clip.truth)
    )
    before, after = video_facts(rotated_clip.path), video_facts(out)
    assert report.rotation == 90 and before["rotation"] == after["rotation"] == 90
    assert after["size"] == before["size"] and after["frames"] == before["frames"]


@pytest.mark.parametrize(
    "name", ["truncated", "not_a_video", "empty", "unsupported_codec", "audio_only"]
)
def test_bad_inputs_fail_in_one_line_and_leave_nothing(bad_inputs, tmp_path, name):
    out = tmp_path / "out.mp4"
    with pytest.raises(VideoLoadError) as error:
        protect_video(bad_inputs[name], out, FAST, detector=lambda rgb: [])
    message = str(error.value)
    assert "\n" not in message and str(bad_inputs[name]) in message
    assert not out.exists() and leftovers(tmp_path) == []


def test_an_existing_output_is_not_replaced_without_overwrite(clip, tmp_path):
    out = tmp_path / "taken.mp4"
    out.write_bytes(b"keep me")
    with pytest.raises(FacecloakError, match="--overwrite"):
        protect_video(clip.path, out, FAST, detector=lambda rgb: [])
    assert out.read_bytes() == b"keep me"
    protect_video(clip.path, out, VideoOptions(progress=False, overwrite=True), lambda rgb: [])
    assert video_facts(out)["frames"] == clip.config.frame_count and leftovers(tmp_path) == []


def test_a_failure_midway_removes_the_partial_file(clip, tmp_path):
    calls = iter(range(1000))

    def failing(_rgb):
        if next(calls) == 20:
            raise RuntimeError("detector crashed")
        return []

    with pytest.raises(RuntimeError):
        protect_video(clip.path, tmp_path / "out.mp4", FAST, detector=failing)
    assert list(tmp_path.iterdir()) == []


def test_methods_without_a_video_version_are_refused(clip, tmp_path):
    with pytest.raises(FacecloakError, match="not available for video"):
        protect_video(clip.path, tmp_path / "out.mp4", VideoOptions(method="sepia"))
    assert list(tmp_path.iterdir()) == []


def test_preview_writes_one_protected_frame_and_no_clip(clip, tmp_path):
    png = tmp_path / "preview.png"
    middle = clip.config.frame_count // 2
    start = middle - VideoOptions().reach - 5
    detector = simulated_detector(clip.truth[start:], miss_run=0)
    result = preview_video(clip.path, png, VideoOptions(progress=False), None, detector)
    assert result["frame"] == middle and result["faces_drawn"] >= 1
    assert [p.name for p in tmp_path.iterdir()] == ["preview.png"]


def test_a_254_character_clip_name_is_written_through_a_short_temporary(clip, tmp_path):
    target = tmp_path / ("c" * 250 + ".mp4")
    protect_video(clip.path, target, FAST, simulated_detector(clip.truth))
    assert [p.name for p in tmp_path.iterdir()] == [target.name]
