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
    assert loaded.trained == {"steps": 4, "epochs": 2, "faces": 12}
    assert small.stat().st_size < output.stat().st_size / 3


def test_a_checkpoint_of_another_size_is_refused(synthetic_faces, tmp_path):
    output = tmp_path / "r.pt"
    train_replacer(synthetic_faces, output, _config(1), progress=False)
    other = ReplacerTraining(epochs=1, batch_size=5)
    with pytest.raises(FacecloakError, match="another generator size"):
        train_replacer(synthetic_faces, output, other, progress=False)
