"""PGD: random start inside the ball, sign steps, projection."""

from __future__ import annotations

import itertools

import pytest
import torch

from facecloak.attacks import PGD, ClassifierUntargeted, EmbeddingUntargeted


def test_random_start_lies_inside_the_ball(classifier, labelled_images):
    images, labels = labelled_images
    pgd = PGD(classifier, ClassifierUntargeted(labels), eps=4 / 255, steps=0)
    start = pgd(images)
    assert 0 < float((start - images).abs().max()) <= 4 / 255 + 1e-6
    assert pgd.last_result is not None
    assert pgd.last_result.steps.tolist() == [0] * len(images)


def test_random_start_follows_the_generator(embedder, images):
    def run(seed: int) -> torch.Tensor:
        generator = torch.Generator().manual_seed(seed)
        return PGD(embedder, EmbeddingUntargeted(), steps=2, generator=generator)(images)

    assert torch.equal(run(1), run(1))
    assert not torch.equal(run(1), run(2))


def test_untargeted_classifier_is_fooled(classifier, labelled_images):
    images, labels = labelled_images
    result = PGD(classifier, ClassifierUntargeted(labels), eps=16 / 255, steps=10).run(images)
    assert bool(result.success.all())
    with torch.no_grad():
        assert not bool((classifier(result.adversarial).argmax(1) == labels).any())


def test_each_step_moves_at_most_the_step_size(embedder, images):
    snapshots: list[torch.Tensor] = []

    def model(x: torch.Tensor) -> torch.Tensor:
        snapshots.append(x.detach().clone())
        return embedder(x)

    PGD(model, EmbeddingUntargeted(), eps=0.5, steps=3, step_size=1 / 255)(images)
    # snapshots: clean output, three gradient points, the final evaluation.
    for before, after in itertools.pairwise(snapshots[1:]):
        assert float((after - before).abs().max()) <= 1 / 255 + 1e-6


def test_needs_an_eps(embedder):
    with pytest.raises(ValueError, match="eps"):
        PGD(embedder, EmbeddingUntargeted(), eps=None)  # type: ignore[arg-type]
