from __future__ import annotations

import numpy as np
import pytest
import torch

from facecloak.protect.perceptual import (
    PerceptualOptions,
    coarse_shape,
    perceptual_cloak,
    texture_budget,
)
from facecloak.quality import differentiable_ssim, ssim


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


def test_texture_budget_stays_inside_the_mask_and_prefers_texture():
    crop = torch.full((1, 3, 32, 32), 0.5)
    crop[..., :, 16:] += 0.2 * torch.rand(1, 3, 32, 16, generator=torch.Generator().manual_seed(1))
    mask = torch.ones(1, 1, 32, 32)
    mask[..., :2, :] = 0
    budget = texture_budget(crop, mask, floor=0.2)
    assert float(budget.max()) <= 1.0 and float(budget[..., :2, :].abs().max()) == 0.0
    assert float(budget[..., 8:24, 2:8].mean()) == pytest.approx(0.2)
    assert float(budget[..., 8:24, 24:30].mean()) > 0.5


def test_coarse_shape_follows_the_chip_scale():
    crop = torch.zeros(1, 3, 400, 300)
    assert coarse_shape(crop, np.array([[4.0, 0, 0], [0, 4.0, 0]])) == (100, 75)
    assert coarse_shape(crop, np.array([[0.5, 0, 0], [0, 0.5, 0]])) == (400, 300)


def test_perceptual_cloak_moves_the_embedding_within_budget_and_floor():
    torch.manual_seed(0)
    crop = torch.rand(1, 3, 48, 48, generator=torch.Generator().manual_seed(2)) * 0.5 + 0.25
    weights = torch.randn(8, 3 * 48 * 48, generator=torch.Generator().manual_seed(3))

    def embed(x: torch.Tensor) -> torch.Tensor:
        return (x.flatten(1) @ weights.T) / 10.0

    clean = embed(crop)
    mask = torch.ones(1, 1, 48, 48)
    options = PerceptualOptions(
        eps=8 / 255, steps=15, step_size=1 / 255, ssim_target=0.98, goal=100.0
    )
    result = perceptual_cloak(crop, embed, clean, mask, (0, 0, 48, 48), options)
    assert result.steps == 15 and result.distance > 0.5
    assert float((result.cloaked - crop).abs().max()) <= 8 / 255 + 1e-6
    assert ssim(crop.double(), result.cloaked.double()) >= 0.98 - 1e-3


def test_perceptual_cloak_stops_at_the_goal():
    crop = torch.full((1, 3, 24, 24), 0.5)

    def embed(x: torch.Tensor) -> torch.Tensor:
        return x.mean((2, 3)) * 100.0

    options = PerceptualOptions(eps=8 / 255, steps=30, step_size=2 / 255, ssim_target=0.5, goal=0.5)
    result = perceptual_cloak(
        crop, embed, embed(crop), torch.ones(1, 1, 24, 24), (0, 0, 24, 24), options
    )
    assert result.steps < 30 and result.distance >= 0.5


def test_pipeline_runs_the_perceptual_optimiser_within_the_floor(grace_hopper):
    from facecloak.faces.regions import face_region
    from facecloak.models import detect
    from facecloak.protect import Strength, protect

    quick = Strength(
        "quick",
        eps=12 / 255,
        steps=4,
        step_size=1.5 / 255,
        ssim_floor=0.98,
        margin=0.3,
        optimizer="perceptual",
        coarse=True,
    )
    faces = detect(grace_hopper)
    result = protect(grace_hopper, strength=quick, robust=False, detected=faces)
    outcome = result.outcomes[0]
    assert outcome.ssim >= 0.98 and outcome.steps == 4 and outcome.distance > 0.1
    region = face_region(faces[0], *grace_hopper.shape[:2])
    inside = np.zeros(grace_hopper.shape[:2], dtype=bool)
    x0, y0, x1, y1 = region.crop
    inside[y0:y1, x0:x1] = region.mask[0, 0].numpy() > 0
    assert (result.image[~inside] == grace_hopper[~inside]).all()


def test_perceptual_cloak_pulls_toward_a_target():
    crop = torch.full((1, 3, 24, 24), 0.5)

    def embed(x: torch.Tensor) -> torch.Tensor:
        return x.mean((2, 3)) * 10.0

    target = embed(crop) + torch.tensor([[0.5, -0.5, 0.5]])
    options = PerceptualOptions(
        eps=8 / 255, steps=10, step_size=1 / 255, ssim_target=0.5, goal=0.0, toward=True
    )
    result = perceptual_cloak(
        crop, embed, target, torch.ones(1, 1, 24, 24), (0, 0, 24, 24), options
    )
    assert result.distance < float(torch.dist(embed(crop), target)) - 0.3
