"""Generated identities for the classifier tests: each one is a bright square in its own place."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from facecloak.classify import (
    ChipSet,
    TrainConfig,
    TrainResult,
    split_per_identity,
    train_classifier,
)

NUM_IDENTITIES = 4
PER_IDENTITY = 16


def synthetic_chip(identity: int, rng: np.random.Generator) -> np.ndarray:
    """A ``(150, 150, 3)`` uint8 chip: noise plus a bright square placed by ``identity``."""
    chip = rng.uniform(60, 140, size=(150, 150, 3))
    row, col = divmod(identity, 2)
    y = 20 + 70 * row + int(rng.integers(-6, 7))
    x = 20 + 70 * col + int(rng.integers(-6, 7))
    chip[y : y + 40, x : x + 40] += 90
    chip[..., identity % 3] += 15
    return np.clip(chip, 0, 255).astype(np.uint8)


def synthetic_chip_set(per_identity: int = PER_IDENTITY, seed: int = 0) -> ChipSet:
    rng = np.random.default_rng(seed)
    chips, labels, paths = [], [], []
    for identity in range(NUM_IDENTITIES):
        for index in range(per_identity):
            chips.append(synthetic_chip(identity, rng))
            labels.append(identity)
            paths.append(f"person_{identity}/{index}.png")
    return ChipSet(
        chips=torch.from_numpy(np.stack(chips)).permute(0, 3, 1, 2).contiguous(),
        labels=torch.tensor(labels),
        class_names=[f"person_{i}" for i in range(NUM_IDENTITIES)],
        paths=paths,
    )


@pytest.fixture(autouse=True)
def _one_torch_thread(single_thread):
    """Every test here runs on one torch thread (``single_thread`` in tests/conftest.py)."""


@pytest.fixture(scope="session")
def chip_set() -> ChipSet:
    return synthetic_chip_set()


@pytest.fixture(scope="session")
def trained(chip_set: ChipSet, tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    """A small-cnn trained for a few epochs on the generated chips (saved to ``model.pt``)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train, val = split_per_identity(chip_set, fraction=0.25, seed=0)
        config = TrainConfig(arch="small-cnn", epochs=8, image_size=32, batch_size=16, lr=3e-3)
        output = tmp_path_factory.mktemp("model") / "model.pt"
        return train_classifier(train, val, config, output=output, progress=False)
    finally:
        torch.set_num_threads(threads)
