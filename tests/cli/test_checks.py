"""The argparse ``type=`` functions of :mod:`facecloak.cli.checks` and the registry choices."""

from __future__ import annotations

import argparse

import pytest

from facecloak.cli import checks, choices


@pytest.mark.parametrize(
    ("parse", "text", "value"),
    [
        (checks.real(0, 255, low_open=True), "255", 255.0),
        (checks.real(0, 1, high_open=True), "0", 0.0),
        (checks.real(0), "1e3", 1000.0),
        (checks.integer(1), "7", 7),
        (checks.max_pixels, "40e6", 40_000_000),
        (checks.max_pixels, "0", 0),
        (checks.indices, "2, 0", [2, 0]),
        (checks.names(["a", "b"], "thing"), "b,a,b", ["b", "a"]),
    ],
)
def test_valid_text_gives_the_value(parse, text: str, value: object) -> None:
    assert parse(text) == value


@pytest.mark.parametrize(
    ("parse", "text", "wanted"),
    [
        (checks.real(0, 255, low_open=True), "0", "in (0, 255]"),
        (checks.real(0, 1, high_open=True), "1", "in [0, 1)"),
        (checks.real(0), "-inf", ">= 0"),
        (checks.real(0, low_open=True), "nan", "> 0"),
        (checks.integer(1), "1.0", ">= 1"),
        (checks.integer(0, 9), "10", "in [0, 9]"),
        (checks.max_pixels, "1e400", ">= 0"),
        (checks.indices, "0,-1", "face numbers"),
        (checks.names(["a", "b"], "thing"), "a,c", "unknown thing 'c' in 'a,c'; choose from a, b"),
    ],
)
def test_invalid_text_names_the_value_and_what_is_valid(parse, text: str, wanted: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as refused:
        parse(text)
    assert repr(text) in str(refused.value) or "'c'" in str(refused.value)
    assert wanted in str(refused.value)


def test_choices_come_from_the_registries() -> None:
    from facecloak.attacks import ATTACKS
    from facecloak.models.detectors import DETECTORS
    from facecloak.models.recognizers import known_recognizers
    from facecloak.obfuscate import OBFUSCATIONS
    from facecloak.protect.presets import PRESETS

    assert set(choices.detectors()) == set(DETECTORS)
    assert list(choices.methods()) == [*ATTACKS, *OBFUSCATIONS, "swap", "replace"]
    assert list(choices.strengths()) == list(PRESETS)
    assert set(choices.extra_recognizers()) == set(known_recognizers()) - {"dlib"}
    assert set(choices.evasion_detectors()) <= set(DETECTORS)
