"""Measured attributes, their tokens, and the --attributes choice."""

from __future__ import annotations

import numpy as np
import pytest

from facecloak.replace.attributes import (
    ATTRIBUTES,
    NAMES,
    POSE,
    choose_tokens,
    learn_edges,
    parse_choice,
    tokenize,
)


def test_the_astronaut_is_frontal_smiling_without_glasses(prepared_astronaut):
    values = dict(zip(NAMES, prepared_astronaut[2], strict=True))
    assert abs(values["yaw"]) < 0.2 and abs(values["roll"]) < 10
    assert values["smile"] > 0.05 and values["glasses"] == 0.0


def test_learned_edges_fill_the_bins_evenly():
    measures = np.random.default_rng(0).normal(size=(3000, len(NAMES)))
    tokens = tokenize(measures, learn_edges(measures))
    yaw = tokens[:, NAMES.index("yaw")]
    assert set(yaw) == set(range(1, ATTRIBUTES["yaw"] + 1))
    assert np.bincount(yaw)[1:].min() > 500


def test_random_keeps_the_pose_and_draws_the_rest():
    measured = np.ones(len(NAMES), np.int64)
    drawn = [
        choose_tokens(measured, parse_choice("random"), np.random.default_rng(s)) for s in range(20)
    ]
    pose = [NAMES.index(name) for name in POSE]
    assert all((d[pose] == 1).all() for d in drawn)
    assert len({tuple(d) for d in drawn}) > 10
    same = choose_tokens(measured, parse_choice("random"), np.random.default_rng(3))
    assert (same == drawn[3]).all()


def test_a_named_choice_sets_keeps_and_drops():
    measured = np.full(len(NAMES), 2, np.int64)
    tokens = choose_tokens(
        measured, parse_choice("smile=0,yaw=keep,beard=none"), np.random.default_rng(0)
    )
    assert tokens[NAMES.index("smile")] == 1 and tokens[NAMES.index("yaw")] == 2
    assert tokens[NAMES.index("beard")] == 0
    assert (choose_tokens(measured, parse_choice("keep"), np.random.default_rng(0)) == 2).all()


@pytest.mark.parametrize(
    ("spec", "words"), [("hair=1", "hair"), ("smile=3", "0 to 2"), ("yaw=x", "keep")]
)
def test_a_bad_choice_names_what_is_valid(spec, words):
    with pytest.raises(ValueError, match=words):
        parse_choice(spec)
