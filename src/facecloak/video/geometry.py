"""Boxes ``(x0, y0, x1, y1)`` in frame pixels: overlap, clipping and centre/size form.

Example:
    >>> iou((0, 0, 10, 10), (5, 0, 15, 10))
    0.3333333333333333
    >>> to_centre((0, 0, 10, 20))
    (5.0, 10.0, 10.0, 20.0)
"""

from __future__ import annotations

import numpy as np

Box = tuple[float, float, float, float]


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
