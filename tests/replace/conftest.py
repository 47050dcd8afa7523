"""A tiny generator, public-domain faces prepared as training faces, and a synthetic face set."""

from __future__ import annotations

import numpy as np
import pytest

from facecloak.replace.attributes import ATTRIBUTES
from facecloak.replace.model import Generator, GeneratorConfig
from facecloak.replace.prepare import FaceSet

TINY = GeneratorConfig(widths=(8, 8, 8, 8, 8), embedding=4)


@pytest.fixture(scope="session")
def prepared_astronaut(astronaut: np.ndarray):
    from facecloak.models.dlib_detectors import HogDetector
    from facecloak.replace.prepare import prepare_photo

    return prepare_photo(astronaut, HogDetector())


@pytest.fixture
def tiny_generator() -> Generator:
    import torch

    torch.manual_seed(0)
    return Generator(TINY).eval()


@pytest.fixture
def even_edges() -> dict[str, np.ndarray]:
    return {name: np.linspace(-1, 1, bins + 1)[1:-1] for name, bins in ATTRIBUTES.items()}


@pytest.fixture
def synthetic_faces(prepared_astronaut) -> FaceSet:
    """12 noisy copies of the astronaut's crop (2 held out), her points jittered."""
    rng = np.random.default_rng(0)
    crop, points, measures = prepared_astronaut
    noise = rng.integers(-20, 21, (12, *crop.shape))
    crops = np.clip(crop[None].astype(int) + noise, 0, 255).astype(np.uint8)
    return FaceSet(
        crops=crops,
        points=(points[None] + rng.normal(0, 1, (12, 68, 2))).astype(np.float32),
        measures=(measures[None] + rng.normal(0, 0.1, (12, len(measures)))).astype(np.float32),
        held_out=np.arange(12) >= 10,
    )
