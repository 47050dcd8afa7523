"""``facecloak protect --method replace``: refusals in one line, then a real replacement with a
tiny random generator (same seed, same photo)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from facecloak.images import load_image


@pytest.fixture
def tiny_replacer(tmp_path: Path) -> Path:
    from facecloak.replace.attributes import ATTRIBUTES
    from facecloak.replace.checkpoint import save_generator
    from facecloak.replace.model import Generator, GeneratorConfig

    torch.manual_seed(0)
    generator = Generator(GeneratorConfig(widths=(8, 8, 8, 8, 8), embedding=4))
    with torch.no_grad():
        torch.nn.init.normal_(generator.film.weight, std=0.5)
    edges = {name: np.linspace(-1, 1, bins + 1)[1:-1] for name, bins in ATTRIBUTES.items()}
    return save_generator(tmp_path / "tiny.pt", generator, edges, {"steps": 0})


@pytest.mark.parametrize(
    ("options", "names"),
    [
        (["--method", "blur", "--attributes", "keep"], ["--attributes", "--method replace only"]),
        (["--method", "blur", "--shape-mix", "0"], ["--shape-mix", "--method replace only"]),
        (["--method", "blur", "--candidates", "2"], ["--candidates", "--method replace only"]),
        (["--method", "replace", "--candidates", "0"], ["--candidates"]),
        (["--method", "replace", "--shape-mix", "2.5"], ["--shape-mix", "in [0, 2]"]),
        (["--replacer", "{missing}"], ["--replacer", "--method replace only"]),
        (["--method", "replace", "--attributes", "hair=1"], ["--attributes", "unknown", "smile"]),
        (["--method", "replace", "--attributes", "smile=7"], ["--attributes", "0 to 2"]),
        (["--method", "replace", "--replacer", "{missing}"], ["--replacer", "is not a file"]),
        (["--method", "replace", "--seed", "-1"], ["--seed"]),
        (["--method", "replace", "--strength", "high"], ["--strength"]),
        (["--method", "blur", "--then", "cloak"], ["--then", "replace or swap"]),
        (["--method", "replace", "--then", "blur"], ["--then", "cloak"]),
    ],
)
def test_replace_options_that_cannot_work_are_refused(
    cli, no_work, photo, tmp_path, options, names
):
    options = [option.format(missing=tmp_path / "nowhere.pt") for option in options]
    cli("protect", photo, "-o", tmp_path / "out", *options).assert_refused(*names)


def test_the_same_seed_replaces_the_same_way(cli, photos, tmp_path, tiny_replacer):
    outputs = []
    for name, seed in (("a", "4"), ("b", "4"), ("c", "5")):
        argv = ["protect", photos["astronaut"], "-o", tmp_path / name, "--method", "replace"]
        code, _, err = cli(*argv, "--replacer", tiny_replacer, "--seed", seed)
        assert code == 0, err
        outputs.append(load_image(tmp_path / name / photos["astronaut"].name))
    original = load_image(photos["astronaut"])
    assert np.array_equal(outputs[0], outputs[1]) and not np.array_equal(outputs[0], outputs[2])
    changed = (outputs[0] != original).any(-1)
    assert 0 < changed.mean() < 0.1
