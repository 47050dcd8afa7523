"""The generator's and discriminator's shapes, and absent attributes changing nothing."""

from __future__ import annotations

import torch

from facecloak.replace.model import (
    INPUT_CHANNELS,
    Generator,
    PatchDiscriminator,
    parameter_count,
)


def test_the_default_generator_is_small_and_narrow_at_full_resolution():
    """3-8 M parameters, 16 channels at 128 px: a training step on 2 CPU cores stays under a
    second (the full-resolution levels cost most of it)."""
    generator = Generator()
    assert 3e6 < parameter_count(generator) < 8e6 and generator.config.widths[0] <= 16


def test_forward_shapes(tiny_generator):
    inputs = torch.rand(3, INPUT_CHANNELS, 128, 128)
    out = tiny_generator(inputs, torch.randint(0, 3, (3, 12)))
    assert out.shape == (3, 3, 128, 128) and out.abs().max() <= 1
    scores = PatchDiscriminator(width=8)(out, inputs[:, 4:])
    assert scores.shape == (3, 1, 16, 16)


def test_attributes_steer_the_output_once_trained(tiny_generator):
    inputs = torch.rand(1, INPUT_CHANNELS, 128, 128)
    with torch.no_grad():
        torch.nn.init.normal_(tiny_generator.film.weight, std=0.5)
        first = tiny_generator(inputs, torch.ones(1, 12, dtype=torch.long))
        second = tiny_generator(inputs, torch.full((1, 12), 2, dtype=torch.long))
        absent = tiny_generator(inputs, torch.zeros(1, 12, dtype=torch.long))
        tiny_generator.film.weight.zero_()
        plain = tiny_generator(inputs, torch.ones(1, 12, dtype=torch.long))
    assert not torch.allclose(first, second)
    assert torch.allclose(absent, plain)  # absent tokens: zero embeddings, no modulation
