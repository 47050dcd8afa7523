"""I-FGSM: deterministic sign steps from the clean input."""

from __future__ import annotations

import torch

from facecloak.attacks import IFGSM, ClassifierTargeted, ClassifierUntargeted


def test_is_deterministic_without_random_start(classifier, labelled_images):
    images, labels = labelled_images
    first = IFGSM(classifier, ClassifierUntargeted(labels), steps=4)(images)
    second = IFGSM(classifier, ClassifierUntargeted(labels), steps=4)(images)
    assert torch.equal(first, second)


def test_first_step_is_one_signed_gradient_step(classifier, labelled_images):
    images, labels = labelled_images
    targets = (labels + 1) % 3
    x = images.clone().requires_grad_(True)
    loss = torch.nn.functional.cross_entropy(classifier(x), targets, reduction="sum")
    (grad,) = torch.autograd.grad(loss, x)
    expected = (images - 2 / 255 * grad.sign()).clamp(0, 1)
    x_adv = IFGSM(classifier, ClassifierTargeted(targets), steps=1, step_size=2 / 255)(images)
    assert torch.allclose(x_adv, expected, atol=1e-6)


def test_zero_steps_returns_the_input(classifier, labelled_images):
    images, labels = labelled_images
    attack = IFGSM(classifier, ClassifierUntargeted(labels), steps=0)
    result = attack.run(images)
    assert torch.equal(result.adversarial, images)
    assert result.adversarial is not images
    assert not bool(result.success.any())


def test_momentum_accumulates_normalised_gradients(classifier, labelled_images):
    images, labels = labelled_images
    objective = ClassifierTargeted((labels + 1) % 3)
    one_step_plain = IFGSM(classifier, objective, steps=1)(images)
    one_step_momentum = IFGSM(classifier, objective, steps=1, momentum=1.0)(images)
    # The first momentum step is the sign of the normalised gradient: the same step.
    assert torch.equal(one_step_plain, one_step_momentum)
