"""Two training steps on a synthetic set, stopping and resuming, the curve and the sample grid."""

from __future__ import annotations

import csv

import pytest
import torch

from facecloak.errors import FacecloakError
from facecloak.replace.checkpoint import export_fp16, load_generator
from facecloak.replace.sample_grid import SampleFaces
from facecloak.replace.train import ReplacerTraining, curve_path, grid_path, train_replacer

from .conftest import TINY


def _config(epochs: int) -> ReplacerTraining:
    return ReplacerTraining(
        epochs=epochs, batch_size=5, checkpoint_every=1, warmup=1, held_out_faces=2, generator=TINY
    )


def test_training_resumes_where_it_stopped(synthetic_faces, prepared_astronaut, tmp_path):
    torch.set_num_threads(1)
    output = tmp_path / "r.pt"
    samples = SampleFaces(*(column[None] for column in prepared_astronaut))
    first = train_replacer(synthetic_faces, output, _config(1), samples, progress=False)
    assert (first.epoch, first.step) == (1, 2)  # 10 training faces, batches of 5
    assert grid_path(output, 1).stat().st_size < 20_000
    resumed = train_replacer(synthetic_faces, output, _config(2), progress=False)
    assert (resumed.epoch, resumed.step) == (2, 4)
    assert not torch.equal(
        first.generator.state_dict()["to_rgb.weight"],
        resumed.generator.state_dict()["to_rgb.weight"],
    )
    rows = list(csv.DictReader(curve_path(output).open()))
    assert [row["step"] for row in rows] == ["1", "2", "3", "4"]
    assert all(0 < float(row["held_out_masked_l1"]) < 1 for row in rows)
    small = export_fp16(output, tmp_path / "small.pt")
    loaded = load_generator(small)
    assert loaded.trained == {"steps": 4, "epochs": 2, "faces": 12, "warm_start_steps": 0}
    assert small.stat().st_size < output.stat().st_size / 3


def test_a_checkpoint_of_another_size_is_refused(synthetic_faces, tmp_path):
    output = tmp_path / "r.pt"
    train_replacer(synthetic_faces, output, _config(1), progress=False)
    other = ReplacerTraining(epochs=1, batch_size=5)
    with pytest.raises(FacecloakError, match="another generator size"):
        train_replacer(synthetic_faces, output, other, progress=False)


def test_a_new_training_can_start_from_exported_weights(synthetic_faces, tmp_path):
    torch.set_num_threads(1)
    train_replacer(synthetic_faces, tmp_path / "a.pt", _config(1), progress=False)
    weights = export_fp16(tmp_path / "a.pt", tmp_path / "a-fp16.pt")
    frozen = ReplacerTraining(
        epochs=1, batch_size=5, lr=0.0, warmup=1, generator=TINY, warm_start=weights
    )
    state = train_replacer(synthetic_faces, tmp_path / "b.pt", frozen, progress=False)
    start = load_generator(weights)
    for name, tensor in start.generator.state_dict().items():
        assert torch.equal(state.generator.state_dict()[name], tensor), name
    assert all((state.edges[name] == start.edges[name]).all() for name in start.edges)
    assert load_generator(tmp_path / "b.pt").trained["warm_start_steps"] == 2


def test_warm_start_weights_of_another_size_are_refused(synthetic_faces, tmp_path):
    train_replacer(synthetic_faces, tmp_path / "a.pt", _config(1), progress=False)
    other = ReplacerTraining(epochs=1, batch_size=5, warm_start=tmp_path / "a.pt")
    with pytest.raises(FacecloakError, match="another generator size"):
        train_replacer(synthetic_faces, tmp_path / "b.pt", other, progress=False)
