"""Detection accuracy against hand-labelled boxes: recall, precision and average precision.

Example:
    >>> truth = {"a.jpg": [(0, 0, 10, 10)]}
    >>> found = {"a.jpg": [((1, 1, 10, 10), 0.9), ((50, 50, 60, 60), 0.4)]}
    >>> m = detection_metrics(found, truth)
    >>> (m.recall, m.precision, round(m.average_precision, 3))
    (1.0, 0.5, 1.0)
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from facecloak.geometry import Box, box_iou

ScoredBox = tuple[Box, float]


@dataclass(frozen=True)
class DetectionMetrics:
    """Counts and rates at one IoU threshold over a set of images."""

    true_positives: int
    false_positives: int
    false_negatives: int
    average_precision: float
    iou_threshold: float

    @property
    def recall(self) -> float:
        found = self.true_positives + self.false_negatives
        return self.true_positives / found if found else 0.0

    @property
    def precision(self) -> float:
        reported = self.true_positives + self.false_positives
        return self.true_positives / reported if reported else 1.0

    def to_dict(self) -> dict:
        return {**asdict(self), "recall": self.recall, "precision": self.precision}


def match_image(
    detections: Sequence[ScoredBox], truth: Sequence[Box], iou_threshold: float = 0.5
) -> list[tuple[float, bool]]:
    """Greedy matching, best score first: each labelled box matches at most one detection.

    Returns ``(score, is_true_positive)`` for every detection.
    """
    unmatched = list(range(len(truth)))
    outcome = []
    for box, score in sorted(detections, key=lambda item: -item[1]):
        ious = [box_iou(box, truth[i]) for i in unmatched]
        best = int(np.argmax(ious)) if ious else -1
        if best >= 0 and ious[best] >= iou_threshold:
            unmatched.pop(best)
            outcome.append((score, True))
        else:
            outcome.append((score, False))
    return outcome


def detection_metrics(
    detections: Mapping[str, Sequence[ScoredBox]],
    truth: Mapping[str, Sequence[Box]],
    iou_threshold: float = 0.5,
) -> DetectionMetrics:
    """Recall, precision and AP over images; an image absent from ``truth`` has no faces."""
    outcomes: list[tuple[float, bool]] = []
    for image in set(detections) | set(truth):
        outcomes += match_image(detections.get(image, []), truth.get(image, []), iou_threshold)
    total_truth = sum(len(boxes) for boxes in truth.values())
    true_positives = sum(hit for _, hit in outcomes)
    return DetectionMetrics(
        true_positives=true_positives,
        false_positives=len(outcomes) - true_positives,
        false_negatives=total_truth - true_positives,
        average_precision=average_precision(outcomes, total_truth),
        iou_threshold=iou_threshold,
    )


def average_precision(outcomes: Sequence[tuple[float, bool]], total_truth: int) -> float:
    """Area under the precision-recall curve with precision made monotone (VOC, all points)."""
    if total_truth == 0:
        return 0.0
    ranked = sorted(outcomes, key=lambda item: -item[0])
    hits = np.array([hit for _, hit in ranked], dtype=float)
    if hits.size == 0:
        return 0.0
    true_positives = np.cumsum(hits)
    precision = true_positives / np.arange(1, hits.size + 1)
    recall = true_positives / total_truth
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    recall_steps = np.diff(np.concatenate([[0.0], recall]))
    return float(np.sum(recall_steps * precision))


def read_box_labels(csv_path: str | Path) -> dict[str, list[Box]]:
    """Hand-labelled boxes per image from a CSV with ``path,left,top,width,height`` columns.

    Returns ``{path: [(x0, y0, x1, y1), ...]}`` with paths as written in the file.
    """
    truth: dict[str, list[Box]] = defaultdict(list)
    with open(csv_path, newline="") as handle:
        for row in csv.DictReader(handle):
            left, top, width, height = (float(row[k]) for k in ("left", "top", "width", "height"))
            truth[row["path"]].append((left, top, left + width, top + height))
    return dict(truth)
