from __future__ import annotations

import numpy as np
import pytest
import torch

from facecloak.geometry import box_iou, nested_in_better, nms, pairwise_iou, widened


@pytest.mark.parametrize(
    ("a", "b", "iou"),
    [
        ((0, 0, 10, 10), (0, 0, 10, 10), 1.0),
        ((0, 0, 10, 10), (5, 0, 15, 10), 50 / 150),
        ((0, 0, 10, 10), (10, 10, 20, 20), 0.0),
        ((0, 0, 10, 10), (2, 2, 4, 4), 4 / 100),
        ((0, 0, 0, 0), (0, 0, 0, 0), 0.0),
    ],
)
def test_box_iou(a, b, iou) -> None:
    assert box_iou(a, b) == pytest.approx(iou)
    assert box_iou(np.array(a, float), np.array(b, float)) == pytest.approx(iou)


def test_pairwise_iou_agrees_with_box_iou() -> None:
    rng = np.random.default_rng(0)
    corners = rng.uniform(0, 50, (6, 2))
    boxes = np.concatenate([corners, corners + rng.uniform(1, 30, (6, 2))], axis=1)
    table = pairwise_iou(torch.from_numpy(boxes), torch.from_numpy(boxes[:4]))
    assert table.shape == (6, 4)
    for i in range(6):
        for j in range(4):
            assert float(table[i, j]) == pytest.approx(box_iou(boxes[i], boxes[j]))


def test_nms_keeps_the_best_of_each_overlapping_group() -> None:
    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [21, 20, 31, 30.0]])
    scores = torch.tensor([0.6, 0.9, 0.3, 0.8])
    assert nms(boxes, scores, iou_threshold=0.5).tolist() == [1, 3]
    assert nms(boxes, scores, iou_threshold=1.01).tolist() == [1, 3, 0, 2]


def test_nms_of_nothing_is_empty() -> None:
    assert nms(torch.zeros(0, 4), torch.zeros(0), 0.5).tolist() == []


def test_a_box_mostly_inside_a_better_one_is_nested() -> None:
    # a large face found twice (the second box a third of a face lower-right, IoU 0.3),
    # a distinct face half-hidden behind it, and a face elsewhere
    boxes = [(0, 0, 300, 300), (110, 110, 390, 390), (270, 0, 350, 80), (600, 0, 700, 100)]
    scores = [0.9, 0.6, 0.8, 0.7]
    assert box_iou(boxes[0], boxes[1]) < 0.3  # NMS at IoU 0.3 keeps both
    assert nested_in_better(boxes, scores, share=0.4) == {1}
    assert nested_in_better(boxes, scores, share=0.6) == set()


def test_nesting_keeps_the_better_scored_box_and_one_of_two_equals() -> None:
    assert nested_in_better([(10, 10, 20, 20), (0, 0, 30, 30)], [0.5, 0.9], 0.4) == {0}
    assert nested_in_better([(0, 0, 10, 10), (0, 0, 10, 10)], [0.5, 0.5], 0.4) == {1}
    assert nested_in_better([(0, 0, 0, 0), (0, 0, 10, 10)], [0.1, 0.9], 0.4) == set()


@pytest.mark.parametrize(
    ("box", "height", "expected"),
    [
        ((100, 100, 140, 150), 480, (88, 93, 152, 157)),  # grown about its centre
        ((0, 0, 40, 40), 50, (0, 0, 64, 50)),  # shifted inside, capped at the image's height
        ((590, 10, 640, 90), 480, (576, 10, 640, 90)),  # at the right edge: grown leftward
        ((10, 5, 300, 45), 50, (10, 0, 300, 50)),  # already wider than 64: kept as wide
    ],
)
def test_widened_box_grows_to_the_minimum_inside_the_image(box, height, expected) -> None:
    assert widened(box, 64, height, 640) == expected
