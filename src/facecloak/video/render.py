"""Drawing the protection: the obfuscation filter inside an ellipse around each tracked box.

The ellipse is the box grown by ``scale`` (like deface's mask scale), with a short soft edge, so a
slightly late or small box still covers the whole face.

Example:
    >>> frame = np.full((60, 80, 3), 200, dtype=np.uint8)
    >>> frame[20:40, 30:50] = 0
    >>> out = obfuscate_boxes(frame, [(30, 20, 50, 40)], lambda crop, size: crop * 0 + 255)
    >>> int(out[30, 40, 0]), int(out[0, 0, 0])
    (255, 200)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from facecloak.video.geometry import Box, scale_box

Filter = Callable[[np.ndarray, float], np.ndarray]
"""``(crop, face size in px) -> changed crop``: the obfuscation applied under the mask."""

DEFAULT_MASK_SCALE = 1.3
_FEATHER = 0.08


def cover_mask(
    box: Box, height: int, width: int, scale: float = DEFAULT_MASK_SCALE
) -> tuple[tuple[int, int, int, int], np.ndarray]:
    """The frame rectangle ``(x0, y0, x1, y1)`` around the ellipse and its alpha ``(h, w)``."""
    grown = scale_box(box, scale)
    x0, y0 = max(0, int(np.floor(grown[0]))), max(0, int(np.floor(grown[1])))
    x1, y1 = min(width, int(np.ceil(grown[2]))), min(height, int(np.ceil(grown[3])))
    if x1 <= x0 or y1 <= y0:
        return (x0, y0, x0, y0), np.zeros((0, 0), dtype=np.float32)
    cx, cy = (grown[0] + grown[2]) / 2, (grown[1] + grown[3]) / 2
    rx, ry = max(0.5, (grown[2] - grown[0]) / 2), max(0.5, (grown[3] - grown[1]) / 2)
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32) + 0.5
    radius = np.hypot((xs - cx) / rx, (ys - cy) / ry)
    alpha = np.clip((1.0 - radius) / _FEATHER, 0.0, 1.0)
    return (x0, y0, x1, y1), alpha.astype(np.float32)


def obfuscate_boxes(
    rgb: np.ndarray, boxes: list[Box], apply: Filter, scale: float = DEFAULT_MASK_SCALE
) -> np.ndarray:
    """A copy of ``rgb`` with ``apply`` blended in under each box's ellipse."""
    out = rgb.copy()
    height, width = rgb.shape[:2]
    for box in boxes:
        (x0, y0, x1, y1), alpha = cover_mask(box, height, width, scale)
        if alpha.size == 0:
            continue
        crop = out[y0:y1, x0:x1]
        size = max(box[2] - box[0], box[3] - box[1])
        changed = np.asarray(apply(np.ascontiguousarray(crop), float(size)), dtype=np.float32)
        weight = alpha[..., None]
        blended = crop.astype(np.float32) * (1 - weight) + changed * weight
        out[y0:y1, x0:x1] = np.clip(np.rint(blended), 0, 255).astype(np.uint8)
    return out


def covered(boxes: list[Box], height: int, width: int, scale: float = DEFAULT_MASK_SCALE):
    """``(height, width)`` bool: pixels the protection of ``boxes`` covers (alpha >= 0.5)."""
    union = np.zeros((height, width), dtype=bool)
    for box in boxes:
        (x0, y0, x1, y1), alpha = cover_mask(box, height, width, scale)
        if alpha.size:
            union[y0:y1, x0:x1] |= alpha >= 0.5
    return union
