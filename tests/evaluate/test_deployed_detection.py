"""Deployed judges: deface's own runtime finds the sample face; recall counts IoU >= 0.3."""

import pytest

from facecloak.errors import InvalidOptionError
from facecloak.evaluate import deployed_detection as dd
from facecloak.models import detect


def test_unknown_judge_is_refused_in_one_line():
    with pytest.raises(InvalidOptionError, match="judge='yolo'") as caught:
        dd.judge_names(["deface", "yolo"])
    assert "\n" not in str(caught.value)


def test_deface_and_haar_judges_find_the_sample_face_saved_and_after_jpeg(grace_hopper):
    judges, skipped = dd.load_judges(["deface", "haar"])
    assert set(judges) == {"deface", "haar"} and not skipped
    truth = [detect(grace_hopper, landmarks=False)[0].box]
    judged = dd.judge_photo("grace", grace_hopper, truth, judges)
    assert dd.recall([judged], "deface", "saved") == 1.0
    assert dd.recall([judged], "deface", "jpeg75") == 1.0
    assert dd.recall([judged], "hog", "saved") is None


def test_recall_counts_a_loose_overlap_but_not_a_miss():
    truth = ((0.0, 0.0, 10.0, 10.0), (50.0, 50.0, 60.0, 60.0))
    found = {"deface": {"saved": [((2.0, 2.0, 14.0, 14.0), 0.9)], "jpeg75": []}}
    photo = dd.JudgedPhoto("a", truth, found)
    assert dd.recall([photo], "deface", "saved") == 0.5
    assert dd.recall([photo], "deface", "jpeg75") == 0.0
