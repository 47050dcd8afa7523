"""Which settings the preset pictures can show: presets by name, transfer settings by strength."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def pictures(import_benchmark):
    return import_benchmark("preset_pictures")


def test_a_preset_stays_a_name(pictures) -> None:
    assert pictures.strength("mid") == "mid"


def test_a_transfer_setting_gives_its_strength(pictures) -> None:
    setting = pictures.strength("mid-s2only")
    assert setting.name == "mid-s2only"
    assert (setting.s2_floor, setting.ssim_floor) == (70.0, 0.5)


@pytest.mark.parametrize("name", ["nonsense", "none"])
def test_an_unknown_or_unprotected_setting_is_refused_in_one_line(pictures, name) -> None:
    with pytest.raises(SystemExit, match=f"--presets: '{name}' is not a preset"):
        pictures.strength(name)
