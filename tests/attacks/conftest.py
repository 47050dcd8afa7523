"""Tiny models and inputs for the attack tests: a random conv embedder and a trained classifier."""

from __future__ import annotations

import pytest
import torch
from torch import nn

IMAGE_SIZE = 16
NUM_CLASSES = 3


def make_embedder(dim: int = 16, dtype: torch.dtype = torch.float32) -> nn.Module:
    """A small random conv net mapping (N, 3, H, W) images to (N, dim) embeddings."""
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(8, 16, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(2),
        nn.Flatten(),
        nn.Linear(64, dim),
    )
    return net.to(dtype).eval()


def colour_images(labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Noise images whose channel ``label`` is slightly brighter than the others."""
    noise = 0.8 * torch.rand(len(labels), 3, IMAGE_SIZE, IMAGE_SIZE, generator=generator)
    bump = 0.08 * nn.functional.one_hot(labels, NUM_CLASSES).float()
    return (noise + bump[:, :, None, None]).clamp(0, 1)


class Centre(nn.Module):
    """Centres and scales pixels so a few optimiser steps suffice to learn small contrasts."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - 0.4) * 10.0


def train_classifier() -> nn.Module:
    """A tiny CNN that learns which colour channel is brightest, in a few SGD steps.

    Plain gradient steps rather than torch.optim, whose first use imports torch._dynamo (seconds).
    """
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(1)
    net = nn.Sequential(
        Centre(),
        nn.Conv2d(3, 8, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, NUM_CLASSES),
    )
    params = list(net.parameters())
    for _ in range(40):
        labels = torch.randint(0, NUM_CLASSES, (32,), generator=generator)
        loss = nn.functional.cross_entropy(net(colour_images(labels, generator)), labels)
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for param, grad in zip(params, grads, strict=True):
                param -= 0.3 * grad
    return net.eval()


@pytest.fixture(autouse=True)
def single_thread():
    """One intra-op thread: these tensors are tiny, and on a busy CPU OpenMP threads wait on each
    other far longer than they compute. Restored afterwards for the other test folders."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def embedder() -> nn.Module:
    return make_embedder()


@pytest.fixture
def new_embedder():
    """The embedder factory, for tests that need their own copy or another dtype."""
    return make_embedder


@pytest.fixture(scope="session")
def classifier() -> nn.Module:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # session fixtures are set up before the per-test one
    try:
        return train_classifier()
    finally:
        torch.set_num_threads(threads)


@pytest.fixture
def images() -> torch.Tensor:
    """Four random images in [0, 1]."""
    return torch.rand(4, 3, IMAGE_SIZE, IMAGE_SIZE, generator=torch.Generator().manual_seed(7))


@pytest.fixture
def labelled_images(classifier: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """Images of every class that the classifier gets right, and their labels."""
    generator = torch.Generator().manual_seed(3)
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    images = colour_images(labels, generator)
    with torch.no_grad():
        correct = classifier(images).argmax(1) == labels
    assert bool(correct.all()), "the tiny classifier should classify its own data"
    return images, labels
