"""Face verification metrics on same/different pairs scored by embedding distance.

Example:
    >>> distances = [0.3, 0.4, 0.7, 0.9]
    >>> same = [True, True, False, False]
    >>> accuracy_at(distances, same, 0.6), roc_auc(distances, same)
    (1.0, 1.0)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def accuracy_at(distances: Sequence[float], same: Sequence[bool], threshold: float) -> float:
    """Share of pairs judged right when ``distance < threshold`` means "same person"."""
    distances, same = np.asarray(distances, float), np.asarray(same, bool)
    return float(np.mean((distances < threshold) == same))


def best_accuracy(distances: Sequence[float], same: Sequence[bool]) -> tuple[float, float]:
    """The highest accuracy over all thresholds, and the threshold that reaches it.

    Optimistic by construction (the threshold is tuned on the pairs it scores).
    """
    values = np.unique(np.asarray(distances, float)[np.isfinite(distances)])
    candidates = np.concatenate([[0.0], (values[:-1] + values[1:]) / 2, [values[-1] + 1e-6]])
    scores = [accuracy_at(distances, same, t) for t in candidates]
    best = int(np.argmax(scores))
    return scores[best], float(candidates[best])


def roc_auc(distances: Sequence[float], same: Sequence[bool]) -> float:
    """Area under the ROC curve: the chance a same pair is closer than a different pair."""
    distances, same = np.asarray(distances, float), np.asarray(same, bool)
    positives, negatives = distances[same], distances[~same]
    if positives.size == 0 or negatives.size == 0:
        raise ValueError("ROC AUC needs both same and different pairs")
    closer = (positives[:, None] < negatives[None, :]).sum()
    ties = (positives[:, None] == negatives[None, :]).sum()
    return float((closer + 0.5 * ties) / (positives.size * negatives.size))
