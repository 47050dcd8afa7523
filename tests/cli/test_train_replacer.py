"""``facecloak train-replacer``: refusals in one line, and a tiny run that resumes and exports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image


@pytest.mark.parametrize(
    ("options", "names"),
    [
        (["{missing}", "-o", "{out}"], ["FACES_DIR", "is not a folder"]),
        (["-o", "{out}"], ["FACES_DIR", "is required"]),
        (["{folder}", "-o", "{out}", "--grid", "{out}.jpg"], ["--grid", "--export-fp16"]),
        (["{folder}", "-o", "{folder}"], ["-o/--output", "is a folder"]),
        (["{folder}", "-o", "{missing}/r.pt"], ["-o/--output", "does not exist"]),
        (["{folder}", "-o", "{out}", "--epochs", "0"], ["--epochs"]),
        (["{folder}", "-o", "{out}", "--batch-size", "1"], ["--batch-size"]),
        (["{folder}", "-o", "{out}", "--warm-start", "{missing}"], ["--warm-start", "does not"]),
        (["-o", "{folder}", "--export-fp16", "{out}", "--warm-start", "{out}"], ["--warm-start"]),
        (
            ["{folder}", "-o", "{out}", "--export-fp16", "{out}.small"],
            ["-o/--output", "nothing to export"],
        ),
    ],
)
def test_bad_options_are_refused(cli, no_work, tmp_path, options, names):
    paths = {"folder": tmp_path, "missing": tmp_path / "nowhere", "out": tmp_path / "r.pt"}
    argv = [option.format(**paths) for option in options]
    cli("train-replacer", *argv).assert_refused(*names)


def test_a_tiny_run_trains_resumes_and_exports(
    cli, tmp_path: Path, astronaut, grace_hopper, monkeypatch
):
    import facecloak.replace.train as train
    from facecloak.replace.model import GeneratorConfig

    tiny = GeneratorConfig(widths=(8, 8, 8, 8, 8), embedding=4)
    monkeypatch.setattr(train.ReplacerTraining, "__init__", _with_generator(tiny))
    folder = tmp_path / "faces"
    folder.mkdir()
    for name, photo in (("a", astronaut), ("g", grace_hopper)):
        Image.fromarray(photo).save(folder / f"{name}.png")
    (folder / "labels.csv").write_text("path,identity\na.png,eileen\ng.png,grace\n")
    out = tmp_path / "r.pt"
    argv = ["train-replacer", folder, "-o", out, "--batch-size", "2", "--cache", tmp_path / "c"]
    code, stdout, _ = cli(*argv, "--json", "--threads", "1", "--epochs", "1")
    assert code == 0 and json.loads(stdout)["steps"] == 1, stdout
    code, stdout, _ = cli(*argv, "--json", "--epochs", "2")
    assert json.loads(stdout)["steps"] == 2 and json.loads(stdout)["epochs"] == 2
    small, grid = tmp_path / "s.pt", tmp_path / "grid.jpg"
    code, stdout, _ = cli("train-replacer", "-o", out, "--export-fp16", small, "--grid", grid)
    assert code == 0 and small.is_file() and 0 < grid.stat().st_size < 20_000


def _with_generator(generator):
    original = __import__("facecloak.replace.train", fromlist=["x"]).ReplacerTraining.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **{**kwargs, "generator": generator})

    return init
