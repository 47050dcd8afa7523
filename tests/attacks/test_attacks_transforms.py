"""Differentiable random transforms: shapes, gradients, randomness control."""

from __future__ import annotations

import pytest
import torch

from facecloak.attacks import (
    InputDiversity,
    RandomCompose,
    RandomGaussianBlur,
    RandomJPEG,
    RandomResize,
    RandomShift,
    eot_transform,
)


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


TRANSFORMS = [
    pytest.param(lambda: InputDiversity(prob=1.0, min_scale=0.8, generator=seeded()), id="di"),
    pytest.param(lambda: RandomJPEG((50, 90), generator=seeded()), id="jpeg"),
    pytest.param(lambda: RandomResize((0.5, 0.9), generator=seeded()), id="resize"),
    pytest.param(lambda: RandomGaussianBlur((0.5, 1.0), generator=seeded()), id="blur"),
    pytest.param(lambda: RandomShift(2.0, generator=seeded()), id="shift"),
    pytest.param(lambda: eot_transform(prob=1.0, generator=seeded()), id="eot"),
]


@pytest.mark.parametrize("make", TRANSFORMS)
def test_keeps_shape_and_passes_gradients(make, images):
    x = images.clone().requires_grad_(True)
    out = make()(x)
    assert out.shape == images.shape
    assert not torch.allclose(out, images)
    (grad,) = torch.autograd.grad(out.square().sum(), x)
    assert float(grad.abs().sum()) > 0


@pytest.mark.parametrize("make", TRANSFORMS)
def test_same_generator_seed_same_output(make, images):
    assert torch.equal(make()(images), make()(images))


def test_diversity_with_zero_probability_is_the_identity(images):
    assert InputDiversity(prob=0.0)(images) is images
    assert RandomCompose([RandomShift(3.0)], prob=0.0)(images) is images


def test_diversity_leaves_unchosen_samples_untouched():
    images = torch.rand(16, 3, 8, 8, generator=seeded(1))
    out = InputDiversity(prob=0.5, generator=seeded(3))(images)
    unchanged = [torch.equal(o, i) for o, i in zip(out, images, strict=True)]
    assert any(unchanged) and not all(unchanged)


def test_diversity_keeps_the_image_inside_the_canvas():
    x = torch.ones(8, 3, 20, 20)
    out = InputDiversity(prob=1.0, min_scale=0.5, generator=seeded())(x)
    # Shrunk images leave a zero border somewhere but keep their centre.
    assert bool((out[:, :, 10, 10] > 0.99).all())
    assert float(out.min()) < 0.01


def test_compose_draws_order_and_choice_per_call():
    def tag(name: str):
        def apply(x: torch.Tensor) -> torch.Tensor:
            calls.append(name)
            return x

        return apply

    calls: list[str] = []
    compose = RandomCompose([tag("a"), tag("b"), tag("c")], prob=1.0, generator=seeded())
    orders = set()
    for _ in range(10):
        calls.clear()
        compose(torch.zeros(1, 3, 4, 4))
        orders.add(tuple(calls))
    assert all(sorted(order) == ["a", "b", "c"] for order in orders)
    assert len(orders) > 1


def test_rejects_bad_ranges():
    with pytest.raises(ValueError, match="quality"):
        RandomJPEG((90, 50))
    with pytest.raises(ValueError, match="prob"):
        InputDiversity(prob=1.5)
