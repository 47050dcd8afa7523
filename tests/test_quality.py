from __future__ import annotations

import numpy as np
import pytest
from skimage.metrics import structural_similarity

from facecloak.quality import image_change, ssim


@pytest.fixture(scope="module")
def noisy_pair(astronaut: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    noisy = np.clip(astronaut.astype(int) + rng.integers(-4, 5, astronaut.shape), 0, 255)
    return astronaut, noisy.astype(np.uint8)


def test_identical_images_have_no_change(astronaut: np.ndarray) -> None:
    change = image_change(astronaut, astronaut, multiscale=True)
    assert change.l2 == 0 and change.linf == 0 and change.psnr == float("inf")
    assert change.ssim == pytest.approx(1.0, abs=1e-5) and change.ms_ssim == pytest.approx(1.0)


def test_ssim_agrees_with_scikit_image(noisy_pair) -> None:
    original, noisy = noisy_pair
    reference = structural_similarity(
        original,
        noisy,
        channel_axis=2,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=255,
    )
    assert image_change(original, noisy).ssim == pytest.approx(reference, abs=1e-4)


def test_norms_and_psnr_follow_their_definitions(noisy_pair) -> None:
    original, noisy = noisy_pair
    diff = (original.astype(float) - noisy.astype(float)) / 255
    change = image_change(original, noisy)
    assert change.l2 == pytest.approx(np.linalg.norm(diff))
    assert change.linf == pytest.approx(np.abs(diff).max())
    assert change.psnr == pytest.approx(10 * np.log10(1 / np.mean(diff**2)))


def test_ms_ssim_is_lenient_to_fine_noise_and_needs_a_large_region(noisy_pair) -> None:
    original, noisy = noisy_pair
    change = image_change(original, noisy, multiscale=True)
    assert change.ssim < change.ms_ssim < 1.0
    assert image_change(original, noisy, box=(0, 0, 100, 100), multiscale=True).ms_ssim is None


def test_box_restricts_the_comparison(noisy_pair) -> None:
    original, noisy = noisy_pair
    changed = original.copy()
    changed[300:, 300:] = noisy[300:, 300:]
    assert image_change(original, changed, box=(0, 0, 200, 200)).l2 == 0
    assert image_change(original, changed, box=(300, 300, 512, 512)).l2 > 0


@pytest.mark.parametrize("side", [160, 170, 175])
def test_ms_ssim_refuses_regions_that_vanish_at_the_coarsest_scale(side: int) -> None:
    a = np.random.default_rng(side).integers(0, 256, (side + 40, side, 3), dtype=np.uint8)
    assert image_change(a, a, multiscale=True).ms_ssim is None


def test_ms_ssim_runs_from_its_minimum_side() -> None:
    a = np.random.default_rng(1).integers(0, 256, (200, 176, 3), dtype=np.uint8)
    assert image_change(a, a, multiscale=True).ms_ssim == pytest.approx(1.0)


def test_tiny_regions_compare_equal_or_not() -> None:
    a = np.zeros((2, 2, 3))
    assert ssim(a, a) == 1.0 and ssim(a, a + 0.5) == 0.0


def test_reports_never_import_torch() -> None:
    import subprocess
    import sys

    code = (
        "import sys, numpy as np; from facecloak.quality import image_change; "
        "image_change(np.zeros((40, 40, 3), np.uint8), np.ones((40, 40, 3), np.uint8)); "
        "print('torch' in sys.modules)"
    )
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip()
        == "False"
    )
