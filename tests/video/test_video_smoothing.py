from __future__ import annotations

import numpy as np
import pytest

from facecloak.video.smoothing import SmoothingConfig, box_at


def line(frame: int) -> tuple[float, float, float, float]:
    left = 10.0 + 3.0 * frame
    return (left, 50.0, left + 40.0, 100.0)


EXACT = SmoothingConfig(window=3, reach=5, growth=0.0)


@pytest.mark.parametrize("missing", [[5], [4, 5, 6], [3, 4, 5, 6, 7]])
def test_a_gap_is_bridged_on_the_line_of_motion(missing: list[int]) -> None:
    observations = {f: line(f) for f in range(12) if f not in missing}
    for frame in missing:
        assert np.allclose(box_at(observations, frame, EXACT), line(frame))


def test_after_the_last_detection_the_box_coasts_then_stops() -> None:
    observations = {f: line(f) for f in range(6)}
    assert np.allclose(box_at(observations, 9, EXACT), line(9))
    assert box_at(observations, 5 + 6, EXACT) is None


def test_before_the_first_detection_the_track_extends_backwards() -> None:
    observations = {f: line(f) for f in range(10, 16)}
    assert np.allclose(box_at(observations, 7, EXACT), line(7))


def test_boxes_away_from_detections_grow() -> None:
    observations = {f: line(f) for f in range(6)}
    box = box_at(observations, 8, SmoothingConfig(reach=5, growth=0.05))
    assert box[2] - box[0] == pytest.approx(40.0 * 1.15)


def test_smoothing_removes_most_of_the_detector_noise() -> None:
    rng = np.random.default_rng(0)
    observations = {f: tuple(np.add(line(f), rng.normal(0, 2.0, 4))) for f in range(40)}
    raw = [np.subtract(observations[f], line(f)) for f in range(5, 35)]
    smooth = [np.subtract(box_at(observations, f, EXACT), line(f)) for f in range(5, 35)]
    assert np.std(smooth) < 0.6 * np.std(raw)


def test_window_zero_returns_the_raw_detection() -> None:
    observations = {0: (1.0, 2.0, 3.0, 4.0)}
    assert box_at(observations, 0, SmoothingConfig(window=0)) == (1.0, 2.0, 3.0, 4.0)


def test_a_face_partly_hidden_keeps_a_face_sized_box() -> None:
    observations = {f: line(f) for f in range(10)}
    observations.update({f: (line(f)[0] + 25.0, 50.0, line(f)[2], 100.0) for f in range(10, 14)})
    box = box_at(observations, 12, EXACT)
    assert box[2] - box[0] >= 0.9 * 40.0 - 1e-6
