from __future__ import annotations

import pytest
import torch

from facecloak.quality import SSIM_EPS, ssim
from facecloak.ssim import differentiable_ssim


@pytest.fixture
def pair() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    a = torch.rand(1, 3, 40, 52, generator=generator, dtype=torch.float64)
    b = (a + 0.05 * torch.randn(a.shape, generator=generator, dtype=torch.float64)).clamp(0, 1)
    return a, b


def _hwc(image: torch.Tensor):
    return image.detach()[0].permute(1, 2, 0).numpy()


def test_differentiable_ssim_equals_the_reports_ssim(pair):
    a, b = pair
    value = float(differentiable_ssim(a, b, eps=SSIM_EPS))
    assert value == pytest.approx(ssim(_hwc(a), _hwc(b)), abs=1e-12)
    assert float(differentiable_ssim(a, a)) == pytest.approx(1.0)


def test_strided_ssim_is_a_close_estimate_with_gradients_everywhere(pair):
    a, b = pair
    b = b.clone().requires_grad_(True)
    estimate = differentiable_ssim(a, b, stride=4, offset=(1, 2))
    estimate.backward()
    assert float(estimate.detach()) == pytest.approx(ssim(_hwc(a), _hwc(b)), abs=0.02)
    assert bool((b.grad[..., 12:-12, 12:-12] != 0).all())
