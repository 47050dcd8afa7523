"""A track's box on any frame: smoothed where it was detected, bridged or coasted where it was not.

The box on frame ``t`` is a weighted straight-line fit of the track's detected boxes (centre and
size) around ``t``, evaluated at ``t``. Centred on ``t``, the fit follows steady motion and zoom
without lag while averaging out the detector's frame-to-frame noise; across a gap it interpolates
between the detections on either side; past the last detection it coasts on the fitted velocity;
before the first one (seen thanks to the pipeline's look-ahead) it extends the track backwards.
The size never drops below ``size_memory`` of the largest detected size of the last ``memory``
frames on either side: when something passes in front of a face, the detector boxes only the part
still visible, and the mask should stay face-sized rather than shrink with it.
A box extrapolated beyond the track's detections (coasting, or extended backwards) grows a
little per frame of distance, since the face's position is less certain there; a box between two
detections does not (so bridged gaps do not make the mask pulse).

Example:
    >>> track = {0: (0, 0, 10, 10), 1: (2, 0, 12, 10), 3: (6, 0, 16, 10)}
    >>> [round(v, 1) for v in box_at(track, 2, SmoothingConfig(growth=0.0))]
    [4.0, 0.0, 14.0, 10.0]
    >>> box_at(track, 20, SmoothingConfig(reach=5)) is None
    True
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

import numpy as np

from facecloak.video.geometry import Box, from_centre, to_centre


@dataclass(frozen=True)
class SmoothingConfig:
    """How a track's boxes are smoothed and how far they reach beyond its detections.

    Attributes:
        window: half-width in frames of the fit around each frame (0: raw detections).
        min_points: fewer detections than this inside the window: use the nearest ones instead.
        reach: frames a box is kept before the first / after the last / between detections.
        growth: share of the box size added per frame beyond the first / last detection.
        memory: frames on either side whose detected sizes set the size floor.
        size_memory: the floor, as a share of the largest of those sizes (0: no floor).
    """

    window: int = 3
    min_points: int = 3
    reach: int = 5
    growth: float = 0.03
    memory: int = 12
    size_memory: float = 0.9


def box_at(observations: dict[int, Box], frame: int, config: SmoothingConfig) -> Box | None:
    """The track's box on ``frame``, or ``None`` when ``frame`` is beyond its reach."""
    if not observations:
        return None
    frames = sorted(observations)
    distance = _distance_to_nearest(frames, frame)
    if distance > config.reach:
        return None
    outside = frame < frames[0] or frame > frames[-1]
    if config.window == 0 and distance == 0:
        return observations[frame]
    chosen = _fit_points(frames, frame, config)
    xs = np.array(chosen, dtype=np.float64) - frame
    ys = np.array([to_centre(observations[f]) for f in chosen], dtype=np.float64)
    weights = 1.0 / (1.0 + np.abs(xs))
    cx, cy, width, height = (float(v) for v in _weighted_line_at_zero(xs, ys, weights))
    floor_w, floor_h = _size_floor(observations, frame, config)
    grow = 1.0 + config.growth * distance if outside else 1.0
    return from_centre(cx, cy, max(1.0, width, floor_w) * grow, max(1.0, height, floor_h) * grow)


def _size_floor(observations: dict[int, Box], frame: int, config: SmoothingConfig):
    """``size_memory`` times the largest detected width and height near ``frame``."""
    near = [box for f, box in observations.items() if abs(f - frame) <= config.memory]
    if not near or config.size_memory <= 0:
        return 0.0, 0.0
    width = max(box[2] - box[0] for box in near)
    height = max(box[3] - box[1] for box in near)
    return config.size_memory * width, config.size_memory * height


def _distance_to_nearest(frames: list[int], frame: int) -> int:
    index = bisect_left(frames, frame)
    near = [frames[i] for i in (index - 1, index) if 0 <= i < len(frames)]
    return min(abs(f - frame) for f in near)


def _fit_points(frames: list[int], frame: int, config: SmoothingConfig) -> list[int]:
    """Detections inside the window, or the ``min_points`` nearest ones when there are too few."""
    inside = [f for f in frames if abs(f - frame) <= config.window]
    if len(inside) >= config.min_points:
        return inside
    return sorted(sorted(frames, key=lambda f: (abs(f - frame), f))[: config.min_points])


def _weighted_line_at_zero(xs: np.ndarray, ys: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Value at ``x = 0`` of the weighted least-squares line through ``(xs, ys)`` (per column)."""
    if len(xs) == 1 or np.ptp(xs) == 0:
        return np.average(ys, axis=0, weights=weights)
    design = np.stack([np.ones_like(xs), xs], axis=1) * np.sqrt(weights)[:, None]
    target = ys * np.sqrt(weights)[:, None]
    coefficients, *_ = np.linalg.lstsq(design, target, rcond=None)
    return coefficients[0]
