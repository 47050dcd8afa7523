"""The paired timing's summary: means, ratios, and which faces both versions cloaked alike."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def paired(import_benchmark):
    return import_benchmark("protect_time_paired")


def _answer(seconds: float, s2: float = 72.0, distance: float = 0.4) -> dict:
    return {"face": True, "seconds": seconds, "s2": s2, "distance": distance}


def test_the_summary_pairs_faces_and_counts_the_same_cloaks(paired) -> None:
    answers = {
        "this": [_answer(4.0), _answer(6.0, s2=71.0), {"face": False}],
        "against": [_answer(8.0), _answer(6.0), {"face": False}],
    }
    result = paired.summary(answers)
    assert result["faces"] == 2
    assert (result["this"], result["against"]) == (5.0, 7.0)
    assert result["ratio"] == pytest.approx(5 / 7)
    assert result["ratio_median"] == pytest.approx(0.75)
    assert result["same_cloak"] == 1  # the second face's SSIMULACRA2 differs by a point
