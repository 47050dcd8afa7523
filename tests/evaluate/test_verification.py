from __future__ import annotations

import numpy as np
import pytest

from facecloak.evaluate.verification import accuracy_at, best_accuracy, roc_auc


def test_accuracy_counts_both_kinds_of_error() -> None:
    assert accuracy_at([0.5, 0.7, 0.5, 0.7], [True, True, False, False], 0.6) == 0.5


def test_best_accuracy_finds_the_separating_threshold() -> None:
    accuracy, threshold = best_accuracy([0.2, 0.3, 0.8, 0.9], [True, True, False, False])
    assert accuracy == 1.0 and 0.3 < threshold < 0.8


def test_roc_auc_matches_the_pairwise_definition() -> None:
    rng = np.random.default_rng(0)
    distances = rng.random(40)
    same = rng.random(40) < 0.5
    pos, neg = distances[same], distances[~same]
    expected = np.mean([[p < n for n in neg] for p in pos])
    assert roc_auc(distances, same) == pytest.approx(expected)
    assert roc_auc([0.9, 0.1], [True, False]) == 0.0


def test_unfound_faces_as_infinite_distance_count_as_different() -> None:
    assert accuracy_at([np.inf, 0.2], [True, True], 0.6) == 0.5
