"""Intel's face re-identification graphs (0095, 0001) read from their IR files."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from facecloak.errors import ModelNotFoundError
from facecloak.images import load_image
from facecloak.models import Recognizer, detect, load_recognizer

# (name, parameters in the README, graph input is BGR)
MODELS = [("intel_reid0095", 1.11e6, True), ("intel_reid0001", 0.59e6, False)]
LFW_PAIRS_PER_KIND = 4


def load_or_skip(name: str) -> Recognizer:
    try:
        return load_recognizer(name)
    except ModelNotFoundError as exc:
        pytest.skip(f"{name} weights absent: {exc}")


@pytest.mark.parametrize(("name", "parameters", "bgr"), MODELS)
def test_graph_size_and_channel_order(name: str, parameters: float, bgr: bool) -> None:
    model = load_or_skip(name)
    weights = sum(buffer.numel() for buffer in model.network.buffers())
    assert weights == pytest.approx(parameters, rel=0.01)
    chips = torch.rand(2, 3, 128, 128, generator=torch.Generator().manual_seed(0))
    graph_input = (chips.flip(1) if bgr else chips) * 255
    with torch.no_grad():
        expected = F.normalize(model.network(graph_input).flatten(1), dim=-1)
        torch.testing.assert_close(model(chips), expected)


@pytest.mark.parametrize("name", [m[0] for m in MODELS])
def test_lfw_pairs_fall_on_the_right_side_of_the_threshold(name: str, shared_faces: Path) -> None:
    model = load_or_skip(name)
    lfw = shared_faces / "lfw"
    with open(lfw / "pairs_devtest.csv") as handle:
        pairs = [(r["path1"], r["path2"], r["same"] == "1") for r in csv.DictReader(handle)]
    chosen = [p for p in pairs if p[2]][:LFW_PAIRS_PER_KIND]
    chosen += [p for p in pairs if not p[2]][:LFW_PAIRS_PER_KIND]
    for first, second, same in chosen:
        a, b = (embed_centre_face(model, lfw / path) for path in (first, second))
        assert (float(model.distance(a, b)) < model.threshold) == same, (first, second)


def embed_centre_face(model: Recognizer, path: Path) -> torch.Tensor:
    rgb = load_image(path)
    faces = detect(rgb)
    centre = min(faces, key=lambda f: abs(f.box[0] + f.box[2] - rgb.shape[1]))
    return model.embed(rgb, [centre])[0]
