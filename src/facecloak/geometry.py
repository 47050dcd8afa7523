"""Boxes: overlap (IoU) of two boxes, pairwise IoU of two sets, non-maximum suppression, the
boxes that mostly lie inside a better one (:func:`share_inside`, :func:`nested_in_better`), and
a box widened to a minimum size (:func:`widened`).

A box is ``(x0, y0, x1, y1)`` in pixels, ``x1``/``y1`` exclusive. :func:`box_iou` compares two
boxes (tuples or arrays, as :class:`facecloak.faces.Face` holds them); :func:`pairwise_iou` and
:func:`nms` work on ``(N, 4)`` tensors or arrays, as detectors produce them.

Example:
    >>> box_iou((0, 0, 10, 10), (5, 0, 15, 10))
    0.3333333333333333
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, TypeVar

import numpy as np

if TYPE_CHECKING:
    from torch import Tensor

Box = tuple[float, float, float, float]
Boxes = TypeVar("Boxes", "Tensor", np.ndarray)
"""``(N, 4)`` boxes: a tensor (as the torch detectors give them) or an array (onnxruntime's)."""


SAME_FACE_IOU = 0.3
"""Two boxes are one face (found again on a changed photo, or on the next frame of a clip) when
they overlap this much (intersection over union)."""


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two ``(x0, y0, x1, y1)`` boxes; 0 when both are empty.

    Example:
        >>> box_iou((0, 0, 2, 2), (0, 0, 2, 2)), box_iou((0, 0, 1, 1), (2, 2, 3, 3))
        (1.0, 0.0)
    """
    inter = _intersection(a, b)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def pairwise_iou(a: Boxes, b: Boxes) -> Boxes:
    """Pairwise IoU of ``(A, 4)`` and ``(B, 4)`` ``x0, y0, x1, y1`` boxes: ``(A, B)``, tensors or
    arrays (both the same kind).

    Example:
        >>> import torch
        >>> pairwise_iou(torch.tensor([[0.0, 0, 10, 10]]), torch.tensor([[5.0, 0, 15, 10]]))
        tensor([[0.3333]])
    """
    xp = np if isinstance(a, np.ndarray) else _torch()
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    top_left = xp.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = xp.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = xp.prod(xp.clip(bottom_right - top_left, 0, None), 2)
    return inter / (area_a[:, None] + area_b[None, :] - inter)


def nms(boxes: Boxes, scores: Boxes, iou_threshold: float) -> Boxes:
    """Greedy non-maximum suppression; indices of kept boxes, best score first (a tensor for
    tensors, an array for arrays).

    Example:
        >>> import torch
        >>> boxes = torch.tensor([[0.0, 0, 10, 10], [1, 0, 11, 10], [20, 20, 30, 30]])
        >>> nms(boxes, torch.tensor([0.5, 0.9, 0.7]), iou_threshold=0.5).tolist()
        [1, 2]
        >>> nms(boxes.numpy(), np.array([0.5, 0.9, 0.7]), iou_threshold=0.5).tolist()
        [1, 2]
    """
    if isinstance(boxes, np.ndarray):
        order = np.argsort(-np.asarray(scores), kind="stable")
        overlaps = pairwise_iou(boxes[order], boxes[order]) >= iou_threshold
        return order[np.asarray(_greedy_keep(overlaps), dtype=np.int64)]
    torch = _torch()
    order = torch.argsort(scores, descending=True, stable=True)
    overlaps = (pairwise_iou(boxes[order], boxes[order]) >= iou_threshold).cpu().numpy()
    return order[torch.tensor(_greedy_keep(overlaps), dtype=torch.long, device=order.device)]


def _greedy_keep(overlaps: np.ndarray) -> list[int]:
    """Rows kept by greedy NMS over ``overlaps`` (``(N, N)`` bool, best box first)."""
    suppressed = np.zeros(len(overlaps), dtype=bool)
    kept = []
    for i in range(len(overlaps)):
        if suppressed[i]:
            continue
        kept.append(i)
        suppressed[i + 1 :] |= overlaps[i, i + 1 :]
    return kept


def nested_in_better(
    boxes: Sequence[Sequence[float]], scores: Sequence[float], share: float
) -> set[int]:
    """Indices of the boxes with at least ``share`` of their area inside a higher-scoring box.

    NMS by IoU keeps a box shifted by a third of a large face (IoU ~0.3): one face, found twice.
    Two real faces rarely overlap that much, since the one behind would be mostly hidden.

    Example:
        >>> nested_in_better([(0, 0, 100, 100), (40, 40, 130, 130), (200, 0, 260, 60)],
        ...                  [0.9, 0.6, 0.8], share=0.4)
        {1}
    """
    nested = set()
    for i, box in enumerate(boxes):
        for j, other in enumerate(boxes):
            better = scores[j] > scores[i] or (scores[j] == scores[i] and j < i)
            if better and share_inside(box, other) >= share:
                nested.add(i)
                break
    return nested


def share_inside(box: Sequence[float], other: Sequence[float]) -> float:
    """The share of ``box``'s area that lies inside ``other`` (0 for an empty box).

    >>> share_inside((0, 0, 10, 10), (5, 0, 100, 100))
    0.5
    """
    area = max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])
    return _intersection(box, other) / area if area > 0 else 0.0


def _intersection(a: Sequence[float], b: Sequence[float]) -> float:
    inter_w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    inter_h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    return float(inter_w * inter_h)


def widened(
    box: Sequence[float], min_side: int, height: int, width: int
) -> tuple[int, int, int, int]:
    """``box`` (rounded) grown about its centre to at least ``min_side`` pixels a side, shifted
    to stay inside a ``height`` x ``width`` image and never larger than it.

    >>> widened((100, 100, 140, 150), 64, 480, 640)
    (88, 93, 152, 157)
    >>> widened((0, 0, 40, 40), 64, 50, 640)
    (0, 0, 64, 50)
    """
    x0, y0, x1, y1 = (round(v) for v in box)
    x0, x1 = _widened_span(x0, x1, min_side, width)
    y0, y1 = _widened_span(y0, y1, min_side, height)
    return (x0, y0, x1, y1)


def _widened_span(start: int, end: int, min_side: int, limit: int) -> tuple[int, int]:
    start, end = max(0, start), min(limit, end)
    side = min(max(end - start, min_side), limit)
    start = min(max(0, (start + end - side) // 2), limit - side)
    return start, start + side


def _torch():
    # torch is imported on first use: the onnxruntime detectors never need it.
    import torch

    return torch
