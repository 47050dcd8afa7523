"""The identity stage: alignment jitter (a random similarity of each recognizer's chip), where the
SSIM floor is measured, and the presets' checks of those options."""

import numpy as np
import pytest

from facecloak.errors import InvalidOptionError
from facecloak.protect.identity import jittered
from facecloak.protect.presets import PRESETS

CHIP = (112, 96)  # (width, height)
TRANSFORMS = np.array([[[2.0, 0.2, 30.0], [-0.2, 2.0, 40.0]]])


def _photo_point(transforms: np.ndarray, chip_point: np.ndarray) -> np.ndarray:
    return transforms[0] @ np.append(chip_point, 1.0)


def test_no_jitter_keeps_the_alignment() -> None:
    moved = jittered(TRANSFORMS, CHIP, 0.0, np.random.default_rng(0))
    np.testing.assert_allclose(moved, TRANSFORMS)


def test_jitter_is_a_similarity_of_the_chip_within_its_bounds() -> None:
    draws = np.random.default_rng(1)
    centre = np.array(CHIP) / 2
    inverse = np.linalg.inv(TRANSFORMS[0, :, :2])  # photo point -> the unjittered chip's pixels
    for _ in range(20):
        moved = jittered(TRANSFORMS, CHIP, 0.1, draws)

        def on_chip(point: np.ndarray, moved: np.ndarray = moved) -> np.ndarray:
            return inverse @ (_photo_point(moved, point) - TRANSFORMS[0, :, 2])

        shift = on_chip(centre) - centre
        assert np.all(np.abs(shift) <= 0.1 * np.array(CHIP) + 1e-9)
        across = on_chip(centre + np.array([10.0, 0.0])) - on_chip(centre)
        assert 0.9 * 10 - 1e-9 <= np.linalg.norm(across) <= 1.1 * 10 + 1e-9
        assert abs(np.arctan2(across[1], across[0])) <= 0.1 + 1e-9


def test_the_same_seed_gives_the_same_draws() -> None:
    first = jittered(TRANSFORMS, CHIP, 0.05, np.random.default_rng(3))
    again = jittered(TRANSFORMS, CHIP, 0.05, np.random.default_rng(3))
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, TRANSFORMS)


def test_a_preset_refuses_negative_jitter_and_a_non_positive_temperature() -> None:
    with pytest.raises(InvalidOptionError, match="align_jitter"):
        PRESETS["mid"].with_overrides(align_jitter=-0.1)
    with pytest.raises(InvalidOptionError, match="worst_case_temperature"):
        PRESETS["mid"].with_overrides(worst_case_temperature=0.0)


def test_the_ssim_floor_is_measured_on_the_face_shrunk_as_the_preset_says(grace_hopper):
    from facecloak.attacks.visibility import chip_spacing
    from facecloak.faces.regions import face_region
    from facecloak.models import detect
    from facecloak.protect.identity import ssim_view

    region = face_region(detect(grace_hopper)[0], *grace_hopper.shape[:2], size=112)
    spacing = chip_spacing(region.chip_to_crop)
    mid = PRESETS["mid"]
    assert ssim_view(region, mid) == 1.0
    assert ssim_view(region, mid.with_overrides(ssim_shrink=2.0)) == 2.0
    coarse = mid.with_overrides(ssim_shrink=1.5, ssim_at_view=True)
    assert ssim_view(region, coarse) == max(1.5, spacing)
    with pytest.raises(InvalidOptionError, match="ssim_shrink"):
        mid.with_overrides(ssim_shrink=0.5)
