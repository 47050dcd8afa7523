"""Face tracks across frames: IoU association with a constant-velocity motion model (SORT-style).

On each frame where the detector ran, every live track predicts where its face is now (last box
moved by its smoothed velocity); detections are matched to predictions greedily by IoU, then the
ones left over by centre distance (fast motion or a sudden zoom). A detection nobody claims starts
a new track; a track that misses more than ``max_gap`` detector runs in a row ends.

Example:
    >>> tracker = Tracker(TrackerConfig(max_gap=2))
    >>> [t for t, _ in tracker.update(0, [(10, 10, 50, 50)])]
    [0]
    >>> [t for t, _ in tracker.update(1, [(14, 10, 54, 50), (200, 10, 240, 50)])]
    [0, 1]
    >>> tracker.update(2, []), [track.misses for track in tracker.live]
    ([], [1, 1])
"""

from __future__ import annotations

from dataclasses import dataclass, field

from facecloak.video.geometry import Box, from_centre, iou_matrix, to_centre


@dataclass(frozen=True)
class TrackerConfig:
    """How detections are associated into tracks.

    Attributes:
        iou_threshold: least IoU between a track's predicted box and a detection to match them.
        centre_gate: second chance for the unmatched: centre distance below this share of the
            box size (and sizes within a factor 2) still matches.
        max_gap: detector runs a track may miss in a row before it ends.
        velocity_weight: weight of the newest velocity measurement (exponential smoothing).
    """

    iou_threshold: float = 0.3
    centre_gate: float = 0.6
    max_gap: int = 5
    velocity_weight: float = 0.5


@dataclass
class Track:
    """One face followed across frames: its detections by frame and its motion state."""

    id: int
    observations: dict[int, Box] = field(default_factory=dict)
    velocity: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    misses: int = 0

    @property
    def first_frame(self) -> int:
        return min(self.observations)

    @property
    def last_frame(self) -> int:
        return max(self.observations)

    def predict(self, frame: int) -> Box:
        """Where the face should be on ``frame``, by constant velocity from the last detection."""
        last = self.last_frame
        cx, cy, width, height = to_centre(self.observations[last])
        steps = frame - last
        vx, vy, vw, vh = self.velocity
        return from_centre(
            cx + vx * steps,
            cy + vy * steps,
            max(1.0, width + vw * steps),
            max(1.0, height + vh * steps),
        )

    def observe(self, frame: int, box: Box, weight: float) -> None:
        """Add a detection and update the velocity (per frame, exponentially smoothed)."""
        if self.observations:
            last = self.last_frame
            steps = max(1, frame - last)
            before, after = to_centre(self.observations[last]), to_centre(box)
            measured = tuple((a - b) / steps for a, b in zip(after, before, strict=True))
            previous = self.velocity if len(self.observations) > 1 else measured
            self.velocity = tuple(  # type: ignore[assignment]
                weight * m + (1 - weight) * p for m, p in zip(measured, previous, strict=True)
            )
        self.observations[frame] = box
        self.misses = 0


class Tracker:
    """Associates each frame's detections with live tracks; keeps every track it ever made."""

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config or TrackerConfig()
        self.live: list[Track] = []
        self.ended: list[Track] = []
        self._next_id = 0

    def update(self, frame: int, boxes: list[Box]) -> list[tuple[int, Box]]:
        """Take the detections of ``frame``; return ``(track id, box)`` for each of them."""
        predicted = [track.predict(frame) for track in self.live]
        pairs = self._match(predicted, boxes)
        matched_tracks = {t for t, _ in pairs}
        matched_boxes = {d for _, d in pairs}
        out = []
        for t, d in pairs:
            self.live[t].observe(frame, boxes[d], self.config.velocity_weight)
            out.append((self.live[t].id, boxes[d]))
        for index, track in enumerate(self.live):
            if index not in matched_tracks:
                track.misses += 1
        for d, box in enumerate(boxes):
            if d not in matched_boxes:
                track = Track(self._next_id)
                track.observe(frame, box, self.config.velocity_weight)
                self._next_id += 1
                self.live.append(track)
                out.append((track.id, box))
        self._end_lost_tracks()
        return sorted(out)

    def tracks(self) -> list[Track]:
        """Every track, live or ended, oldest first."""
        return sorted(self.live + self.ended, key=lambda track: track.id)

    def forget_before(self, frame: int) -> None:
        """Drop ended tracks whose last detection is before ``frame`` (they matter no more)."""
        self.ended = [track for track in self.ended if track.last_frame >= frame]

    def _match(self, predicted: list[Box], boxes: list[Box]) -> list[tuple[int, int]]:
        overlap = iou_matrix(predicted, boxes)
        pairs: list[tuple[int, int]] = []
        used_t: set[int] = set()
        used_d: set[int] = set()
        candidates = sorted(
            ((overlap[t, d], t, d) for t in range(len(predicted)) for d in range(len(boxes))),
            reverse=True,
        )
        for score, t, d in candidates:
            if score >= self.config.iou_threshold and t not in used_t and d not in used_d:
                pairs.append((t, d))
                used_t.add(t)
                used_d.add(d)
        near = sorted(
            (_centre_distance(predicted[t], boxes[d]), t, d)
            for t in range(len(predicted))
            for d in range(len(boxes))
            if t not in used_t and d not in used_d
        )
        for distance, t, d in near:
            if distance < self.config.centre_gate and t not in used_t and d not in used_d:
                pairs.append((t, d))
                used_t.add(t)
                used_d.add(d)
        return pairs

    def _end_lost_tracks(self) -> None:
        lost = [track for track in self.live if track.misses > self.config.max_gap]
        self.live = [track for track in self.live if track.misses <= self.config.max_gap]
        self.ended += lost


def _centre_distance(a: Box, b: Box) -> float:
    """Centre distance over the mean box size; infinite when sizes differ by more than 2x."""
    ax, ay, aw, ah = to_centre(a)
    bx, by, bw, bh = to_centre(b)
    size_a, size_b = max(aw, ah, 1e-6), max(bw, bh, 1e-6)
    if not 0.5 <= size_a / size_b <= 2.0:
        return float("inf")
    return ((ax - bx) ** 2 + (ay - by) ** 2) ** 0.5 / ((size_a + size_b) / 2)
