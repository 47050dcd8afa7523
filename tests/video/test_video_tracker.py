from __future__ import annotations

from facecloak.video.tracker import Tracker, TrackerConfig


def moving(frame: int, x: float = 10.0, speed: float = 4.0) -> tuple[float, float, float, float]:
    left = x + speed * frame
    return (left, 20.0, left + 40.0, 70.0)


def test_two_faces_keep_their_ids_while_moving() -> None:
    tracker = Tracker()
    for frame in range(20):
        right = moving(frame, x=300.0, speed=-3.0)
        assigned = {box: track for track, box in tracker.update(frame, [moving(frame), right])}
        assert assigned == {moving(frame): 0, right: 1}


def test_a_track_coasts_through_misses_up_to_max_gap() -> None:
    tracker = Tracker(TrackerConfig(max_gap=3))
    for frame in range(5):
        tracker.update(frame, [moving(frame)])
    for frame in range(5, 8):  # three misses: still live
        tracker.update(frame, [])
    assert [track.id for track in tracker.live] == [0]
    assert tracker.update(8, [moving(8)]) == [(0, moving(8))]  # found again where predicted


def test_a_track_ends_after_more_misses_than_max_gap() -> None:
    tracker = Tracker(TrackerConfig(max_gap=2))
    tracker.update(0, [moving(0)])
    for frame in range(1, 4):
        tracker.update(frame, [])
    assert tracker.live == [] and [track.id for track in tracker.ended] == [0]
    assert tracker.update(4, [moving(4)]) == [(1, moving(4))]


def test_prediction_follows_constant_velocity() -> None:
    tracker = Tracker()
    for frame in range(4):
        tracker.update(frame, [moving(frame, speed=10.0)])
    predicted = tracker.live[0].predict(6)
    assert all(abs(a - b) < 1e-6 for a, b in zip(predicted, moving(6, speed=10.0), strict=True))


def test_fast_motion_without_overlap_is_matched_by_centre_distance() -> None:
    tracker = Tracker(TrackerConfig(iou_threshold=0.3, centre_gate=0.6))
    tracker.update(0, [(0.0, 0.0, 40.0, 40.0), (200.0, 0.0, 240.0, 40.0)])
    # A 22 px jump: IoU 0.29, below the threshold; the centres are 0.55 box sizes apart.
    assert tracker.update(1, [(22.0, 0.0, 62.0, 40.0)]) == [(0, (22.0, 0.0, 62.0, 40.0))]


def test_forget_before_drops_only_old_ended_tracks() -> None:
    tracker = Tracker(TrackerConfig(max_gap=0))
    tracker.update(0, [moving(0)])
    tracker.update(1, [])
    tracker.forget_before(1)
    assert tracker.tracks() == []
