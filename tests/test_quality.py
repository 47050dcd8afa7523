from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from facecloak.quality import differentiable_ssim, image_change, ssim


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


@pytest.fixture
def pair() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    a = torch.rand(1, 3, 40, 52, generator=generator, dtype=torch.float64)
    b = (a + 0.05 * torch.randn(a.shape, generator=generator, dtype=torch.float64)).clamp(0, 1)
    return a, b


def test_differentiable_ssim_equals_the_quality_metric(pair):
    a, b = pair
    assert float(differentiable_ssim(a, b)) == pytest.approx(ssim(a, b), abs=1e-9)
    assert float(differentiable_ssim(a, a)) == pytest.approx(1.0)


def test_strided_ssim_is_a_close_estimate_with_gradients_everywhere(pair):
    a, b = pair
    b = b.clone().requires_grad_(True)
    estimate = differentiable_ssim(a, b, stride=4, offset=(1, 2))
    estimate.backward()
    assert float(estimate.detach()) == pytest.approx(ssim(a, b.detach()), abs=0.02)
    assert bool((b.grad[..., 12:-12, 12:-12] != 0).all())


@pytest.mark.parametrize("side", [160, 170, 175])
def test_ms_ssim_refuses_regions_that_vanish_at_the_coarsest_scale(side: int) -> None:
    a = torch.rand(1, 3, side + 40, side, dtype=torch.float64)
    assert (
        image_change(
            (a[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8),
            (a[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8),
            multiscale=True,
        ).ms_ssim
        is None
    )


def test_ms_ssim_runs_from_its_minimum_side() -> None:
    a = np.random.default_rng(1).integers(0, 256, (200, 176, 3), dtype=np.uint8)
    assert image_change(a, a, multiscale=True).ms_ssim == pytest.approx(1.0)
