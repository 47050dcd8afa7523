"""The committed generator: small, half precision, with its model card, and it loads."""

from __future__ import annotations

import torch

from facecloak.replace.checkpoint import DEFAULT_WEIGHTS, load_generator
from facecloak.replace.model import GeneratorConfig


def test_the_committed_generator_is_small_fp16_and_documented():
    assert DEFAULT_WEIGHTS.is_file() and DEFAULT_WEIGHTS.stat().st_size <= 25_000_000
    assert (DEFAULT_WEIGHTS.parent / "MODEL_CARD.md").is_file()
    payload = torch.load(DEFAULT_WEIGHTS, map_location="cpu", weights_only=False)
    assert all(
        t.dtype == torch.float16 for t in payload["generator"].values() if t.is_floating_point()
    )
    loaded = load_generator()
    assert loaded.generator.config == GeneratorConfig() and loaded.trained["steps"] > 0
    assert not loaded.generator.training
