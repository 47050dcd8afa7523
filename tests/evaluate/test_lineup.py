from __future__ import annotations

import json

import numpy as np
import pytest

from facecloak.datasets import read_labelled_folder
from facecloak.errors import FacecloakError
from facecloak.evaluate.lineup import (
    CANDIDATES,
    score_lineup,
    wilson_interval,
    write_lineup,
)


def darken(rgb: np.ndarray, face) -> np.ndarray:
    return rgb // 2


@pytest.fixture(scope="module")
def lineup(lineup_folder, tmp_path_factory):
    outdir = tmp_path_factory.mktemp("lineup")
    files = write_lineup(read_labelled_folder(lineup_folder), darken, outdir, seed=3)
    return files, json.loads(files.key.read_text())


def page_data(page: str) -> dict:
    start = page.index('id="lineup-data">') + len('id="lineup-data">')
    return json.loads(page[start : page.index("</script>", start)])


def test_one_trial_per_person_with_two_photos(lineup):
    files, key = lineup
    assert files.trials == 2
    assert sorted(t["identity"] for t in key["trials"].values()) == ["astronaut", "hopper"]


def test_each_trial_has_nine_candidates_one_of_them_right(lineup):
    files, key = lineup
    data = page_data(files.page.read_text())
    assert data["test"] == key["test"]
    for trial in data["trials"]:
        ids = [c["id"] for c in trial["candidates"]]
        assert len(ids) == len(set(ids)) == CANDIDATES
        assert key["trials"][trial["id"]]["answer"] in ids
        assert trial["probe"].startswith("data:image/jpeg;base64,")


def test_the_page_holds_no_answer_and_no_name(lineup):
    files, _ = lineup
    page = files.page.read_text()
    for name in ("astronaut", "hopper", "filler", '"answer"', '"identity"'):
        assert name not in page
    assert "http://" not in page and "https://" not in page  # self-contained


def test_the_right_candidate_is_not_always_first(lineup):
    files, key = lineup
    data = page_data(files.page.read_text())
    positions = [
        [c["id"] for c in t["candidates"]].index(key["trials"][t["id"]]["answer"])
        for t in data["trials"]
    ]
    assert positions != [0, 0]


def test_fewer_than_nine_people_is_refused(lineup_folder, tmp_path):
    photos = [
        p for p in read_labelled_folder(lineup_folder) if p.identity not in ("filler0", "filler1")
    ]
    with pytest.raises(FacecloakError, match="at least 9 people; found 8") as caught:
        write_lineup(photos, darken, tmp_path)
    assert "\n" not in str(caught.value)


def test_scores_pool_the_answers_of_every_participant(lineup):
    _, key = lineup
    right = {trial: entry["answer"] for trial, entry in key["trials"].items()}
    wrong = {trial: "nobody" for trial in key["trials"]}
    score = score_lineup(
        [{"test": key["test"], "answers": right}, {"test": key["test"], "answers": wrong}], key
    )
    assert (score.right, score.answered, score.rate) == (2, 4, 0.5)
    assert (score.low, score.high) == wilson_interval(2, 4)


def test_answers_of_another_test_are_refused(lineup):
    _, key = lineup
    with pytest.raises(FacecloakError, match="do not belong to this key"):
        score_lineup([{"test": "other", "answers": {}}], key)


def test_wilson_interval_is_inside_zero_one_and_narrows():
    assert wilson_interval(0, 0) == (0.0, 1.0)
    low, high = wilson_interval(0, 20)
    assert low == 0.0 and 0.1 < high < 0.2
    assert np.diff(wilson_interval(50, 100)) < np.diff(wilson_interval(5, 10))
