"""Boxes ``(x0, y0, x1, y1)`` in frame pixels: overlap, clipping and centre/size form.

Example:
    >>> iou((0, 0, 10, 10), (5, 0, 15, 10))
    0.3333333333333333
    >>> to_centre((0, 0, 10, 20))
    (5.0, 10.0, 10.0, 20.0)
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np

Box = tuple[float, float, float, float]
T = TypeVar("T")


def intersection_area(a: Box, b: Box) -> float:
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    return max(0.0, width) * max(0.0, height)


def area(box: Box) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def iou(a: Box, b: Box) -> float:
    """Intersection over union; 0 for empty boxes."""
    inter = intersection_area(a, b)
    union = area(a) + area(b) - inter
    return inter / union if union > 0 else 0.0


def iou_matrix(boxes_a: list[Box], boxes_b: list[Box]) -> np.ndarray:
    """``(len(a), len(b))`` IoU of every pair."""
    return np.array([[iou(a, b) for b in boxes_b] for a in boxes_a], dtype=np.float64).reshape(
        len(boxes_a), len(boxes_b)
    )


def clip_box(box: Box, width: int, height: int) -> Box:
    """``box`` cut to the frame (may become empty)."""
    x0, y0 = min(max(box[0], 0.0), width), min(max(box[1], 0.0), height)
    x1, y1 = min(max(box[2], 0.0), width), min(max(box[3], 0.0), height)
    return (x0, y0, max(x0, x1), max(y0, y1))


def to_centre(box: Box) -> tuple[float, float, float, float]:
    """``(cx, cy, w, h)``."""
    x0, y0, x1, y1 = box
    return ((x0 + x1) / 2, (y0 + y1) / 2, float(x1 - x0), float(y1 - y0))


def from_centre(cx: float, cy: float, width: float, height: float) -> Box:
    return (cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2)


def scale_box(box: Box, factor: float) -> Box:
    """``box`` grown (or shrunk) by ``factor`` about its centre."""
    cx, cy, width, height = to_centre(box)
    return from_centre(cx, cy, width * factor, height * factor)


def carried_over(boxes: list[Box], previous: list[tuple[Box, T]], min_iou: float) -> dict[int, T]:
    """Index of each box -> the payload of the previous frame's box it continues (overlapping by
    at least ``min_iou``, the best overlap winning).

    >>> carried_over([(0, 0, 10, 10), (50, 50, 60, 60)], [((1, 0, 11, 10), "a")], 0.3)
    {0: 'a'}
    """
    carried = {}
    for index, box in enumerate(boxes):
        overlaps = [(iou(box, before), payload) for before, payload in previous]
        best = max(overlaps, key=lambda pair: pair[0], default=(0.0, None))
        if best[0] >= min_iou:
            carried[index] = best[1]
    return carried
