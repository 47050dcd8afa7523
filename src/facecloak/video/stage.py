"""From decoded frames to the boxes to protect on each, with a short look-ahead.

Frames are held back ``reach`` frames, so that the box drawn on a frame can use the detections
that come after it: a miss is bridged by interpolation, a face the detector only finds a few
frames after it appeared is covered from its first frame, and smoothing is centred (no lag).

With ``--keep-face``, each track is compared with the reference people on a few of its detected
frames; a track is left unprotected only if the median distance says "same person" when it is
first drawn, and it goes back to protected for good as soon as later samples disagree.
"""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass, field

from facecloak.video.adapters import Detector, IdentityMatcher
from facecloak.video.geometry import Box
from facecloak.video.media import DecodedFrame
from facecloak.video.options import VideoOptions
from facecloak.video.smoothing import box_at
from facecloak.video.tracker import Track, Tracker

_MAX_SAMPLES = 9
_SAMPLE_SPACING = 2


@dataclass
class _Identity:
    """Keep-face evidence of one track."""

    distances: list[float] = field(default_factory=list)
    last_sampled: int = -(10**9)
    kept: bool | None = None


class TrackingStage:
    """Feed frames in order with :meth:`push`; get ``(frame, boxes)`` back once they are ready."""

    def __init__(
        self, options: VideoOptions, detector: Detector, matcher: IdentityMatcher | None = None
    ) -> None:
        self.options = options
        self.detector = detector
        self.matcher = matcher
        self.tracker = Tracker(options.tracker_config())
        self.smoothing = options.smoothing_config()
        self.lookahead = options.reach
        self._pending: deque[DecodedFrame] = deque()
        self._identities: dict[int, _Identity] = {}
        self._span = max(
            self.lookahead + self.smoothing.window + 3 * options.detect_every,
            self.smoothing.memory,
        )

    def push(self, frame: DecodedFrame) -> list[tuple[DecodedFrame, list[Box]]]:
        """Take the next frame; return the frames whose boxes are now final."""
        if frame.index % self.options.detect_every == 0:
            found = self.detector(frame.rgb)
            assigned = self.tracker.update(frame.index, found)
            if self.matcher is not None:
                self._sample_identities(frame, assigned)
        self._pending.append(frame)
        ready = []
        while self._pending and self._pending[0].index <= frame.index - self.lookahead:
            ready.append(self._release())
        return ready

    def flush(self) -> list[tuple[DecodedFrame, list[Box]]]:
        """The frames still held back, at the end of the clip."""
        return [self._release() for _ in range(len(self._pending))]

    @property
    def kept_tracks(self) -> int:
        return sum(1 for identity in self._identities.values() if identity.kept)

    @property
    def track_count(self) -> int:
        return len(self.tracker.tracks())

    def _release(self) -> tuple[DecodedFrame, list[Box]]:
        frame = self._pending.popleft()
        boxes = []
        for track in self.tracker.tracks():
            box = box_at(self._near(track, frame.index), frame.index, self.smoothing)
            if box is not None and not self._keep(track.id):
                boxes.append(box)
        self.tracker.forget_before(frame.index - self.lookahead)
        return frame, boxes

    def _near(self, track: Track, index: int) -> dict[int, Box]:
        """The track's detections close enough to ``index`` to matter (bounded work per frame)."""
        observations = track.observations
        return {
            f: observations[f]
            for f in range(index - self._span, index + self._span + 1)
            if f in observations
        }

    def _sample_identities(self, frame: DecodedFrame, assigned: list[tuple[int, Box]]) -> None:
        for track_id, box in assigned:
            identity = self._identities.setdefault(track_id, _Identity())
            spaced = frame.index - identity.last_sampled >= _SAMPLE_SPACING
            if len(identity.distances) < _MAX_SAMPLES and spaced and identity.kept is not False:
                identity.distances.append(self.matcher.distance(frame.rgb, box))
                identity.last_sampled = frame.index

    def _keep(self, track_id: int) -> bool:
        if self.matcher is None:
            return False
        identity = self._identities.setdefault(track_id, _Identity())
        same = bool(identity.distances) and (
            statistics.median(identity.distances) < self.matcher.threshold
        )
        identity.kept = same if identity.kept is None else (identity.kept and same)
        return identity.kept
