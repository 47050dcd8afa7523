"""I-FGVM and P-FGVM: value (not sign) gradient steps, with and without the realism penalty."""

from __future__ import annotations

import pytest
import torch

from facecloak.attacks import IFGVM, PFGVM, ClassifierTargeted, EmbeddingUntargeted
from facecloak.attacks.common import rms_normalized


def input_gradient(model, objective, images: torch.Tensor) -> torch.Tensor:
    x = images.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(objective(model(x)).loss.sum(), x)
    return grad


def test_ifgvm_raw_step_follows_the_formula(classifier, labelled_images):
    images, labels = labelled_images
    objective = ClassifierTargeted((labels + 1) % 3)
    grad = input_gradient(classifier, objective, images)
    expected = (images - 0.01 * grad).clamp(0, 1)
    x_adv = IFGVM(classifier, objective, steps=1, step_size=0.01, normalize=False)(images)
    assert torch.allclose(x_adv, expected, atol=1e-6)


def test_ifgvm_normalised_step_has_the_step_size_as_rms(classifier, labelled_images):
    images, labels = labelled_images
    objective = ClassifierTargeted((labels + 1) % 3)
    grad = input_gradient(classifier, objective, images)
    step = rms_normalized(grad)
    assert torch.allclose(step.flatten(1).square().mean(1), torch.ones(len(images)), atol=1e-6)
    x_adv = IFGVM(classifier, objective, steps=1, step_size=1 / 255)(images)
    assert torch.allclose(x_adv, (images - step / 255).clamp(0, 1), atol=1e-6)


def test_pfgvm_without_penalty_is_ifgvm(embedder, images):
    objective = EmbeddingUntargeted()

    def run(attack_type, **kw) -> torch.Tensor:
        generator = torch.Generator().manual_seed(0)  # same start jitter for both
        return attack_type(embedder, objective, steps=6, generator=generator, **kw)(images)

    assert torch.equal(run(PFGVM, lam=0.0), run(IFGVM))


def test_larger_penalty_gives_a_smaller_perturbation(embedder, images):
    objective = EmbeddingUntargeted()
    sizes = []
    for attack in (
        IFGVM(embedder, objective, steps=15, step_size=2 / 255),
        PFGVM(embedder, objective, lam=10.0, steps=15, step_size=2 / 255),
        PFGVM(embedder, objective, lam=60.0, steps=15, step_size=2 / 255),
    ):
        delta = attack(images) - images
        sizes.append(float(delta.flatten(1).norm(dim=1).mean()))
    assert sizes[0] > sizes[1] > sizes[2] > 0


def test_pfgvm_penalty_settles_near_one_over_lambda(classifier, labelled_images):
    images, labels = labelled_images
    objective = ClassifierTargeted((labels + 1) % 3)
    x_adv = PFGVM(classifier, objective, lam=50.0, steps=200, step_size=4 / 255)(images)
    rms = (x_adv - images).flatten(1).square().mean(1).sqrt()
    assert bool((rms < 1.5 / 50).all())


def test_unbounded_by_default_and_bounded_with_eps(embedder, images):
    objective = EmbeddingUntargeted()
    free = IFGVM(embedder, objective, steps=10, step_size=4 / 255)(images)
    bounded = IFGVM(embedder, objective, eps=2 / 255, steps=10, step_size=4 / 255)(images)
    assert float((free - images).abs().max()) > 2 / 255
    assert float((bounded - images).abs().max()) <= 2 / 255 + 1e-6


def test_rejects_negative_lambda(embedder):
    with pytest.raises(ValueError, match="lam"):
        PFGVM(embedder, EmbeddingUntargeted(), lam=-1.0)
