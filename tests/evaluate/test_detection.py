from __future__ import annotations

import pytest

from facecloak.evaluate.detection import average_precision, detection_metrics, match_image


def test_each_label_matches_one_detection() -> None:
    outcome = match_image([((0, 0, 10, 10), 0.9), ((0, 0, 10, 10), 0.8)], [(0, 0, 10, 10)])
    assert outcome == [(0.9, True), (0.8, False)]


def test_low_iou_is_a_false_positive() -> None:
    assert match_image([((0, 0, 10, 10), 0.9)], [(6, 6, 16, 16)]) == [(0.9, False)]


def test_metrics_count_missed_faces_and_empty_images() -> None:
    truth = {"a": [(0, 0, 10, 10), (20, 20, 30, 30)]}
    found = {"a": [((0, 0, 10, 10), 0.9)], "dog": [((5, 5, 9, 9), 0.7)]}
    metrics = detection_metrics(found, truth)
    assert (metrics.true_positives, metrics.false_positives, metrics.false_negatives) == (1, 1, 1)
    assert metrics.recall == 0.5 and metrics.precision == 0.5
    assert metrics.average_precision == pytest.approx(0.5)


def test_average_precision_rewards_ranking_hits_first() -> None:
    good = average_precision([(0.9, True), (0.1, False)], total_truth=1)
    bad = average_precision([(0.9, False), (0.1, True)], total_truth=1)
    assert good == 1.0 and bad == pytest.approx(0.5)


def test_box_labels_are_read_as_corner_boxes(tmp_path) -> None:
    from facecloak.evaluate.detection import read_box_labels

    labels = tmp_path / "boxes.csv"
    labels.write_text(
        "path,split,left,top,width,height\na.jpg,test,10,20,30,40\na.jpg,test,0,0,5,5\n"
    )
    assert read_box_labels(labels) == {"a.jpg": [(10, 20, 40, 60), (0, 0, 5, 5)]}
