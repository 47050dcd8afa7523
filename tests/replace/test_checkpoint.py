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


def test_shapes_travel_with_an_export(tmp_path):
    import numpy as np

    from facecloak.replace.checkpoint import export_fp16, save_generator
    from facecloak.replace.model import Generator

    generator = Generator(GeneratorConfig(widths=(8, 8, 8, 8, 8), embedding=4))
    edges = load_generator().edges
    plain = save_generator(tmp_path / "plain.pt", generator, edges, {"steps": 1})
    assert load_generator(plain).shapes is None
    shapes = np.random.default_rng(0).uniform(30, 90, (7, 68, 2))
    exported = load_generator(export_fp16(plain, tmp_path / "with.pt", shapes))
    assert exported.shapes.shape == (7, 68, 2)
    assert np.allclose(exported.shapes, shapes, atol=0.05)


def test_the_committed_generator_carries_its_shape_bank():
    loaded = load_generator()
    assert loaded.shapes is not None and loaded.shapes.shape == (4000, 68, 2)
    assert 50 < loaded.shapes.mean() < 80  # crop pixels: faces centred in the 128 px crop
