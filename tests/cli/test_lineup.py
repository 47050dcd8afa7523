"""``facecloak lineup``: write the test page, score exported answers, refuse bad command lines."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


@pytest.fixture(scope="module")
def faces_dir(tmp_path_factory, photos) -> Path:
    """Astronaut and Grace Hopper twice each (the second a smaller copy), and 8 others."""
    folder = tmp_path_factory.mktemp("people")
    for name in ("astronaut", "hopper"):
        (folder / name).mkdir()
        picture = Image.open(photos[name]).convert("RGB")
        picture.save(folder / name / "1.png")
        picture.resize((picture.width * 3 // 4, picture.height * 3 // 4)).save(
            folder / name / "2.png"
        )
    rng = np.random.default_rng(1)
    for number in range(8):
        (folder / f"other{number}").mkdir()
        field = rng.integers(0, 256, (3, 3, 3), dtype=np.uint8)
        Image.fromarray(field).resize((96, 96)).save(folder / f"other{number}" / "1.png")
    return folder


@pytest.mark.parametrize(
    ("options", "names"),
    [
        ([], ["FACES_DIR", "is required"]),
        (["{faces}"], ["-o/--outdir", "is required"]),
        (["{faces}", "-o", "{out}", "--method", "swap"], ["--method", "needs --donors"]),
        (["{faces}", "-o", "{out}", "--method", "mask", "--donors", "{faces}"], ["--donors"]),
        (["{faces}", "-o", "{out}", "--key", "k.json"], ["--key", "--score only"]),
        (["--score", "a.json"], ["--score", "needs --key"]),
        (["{faces}", "--score", "a.json", "--key", "k.json"], ["--score", "drop FACES_DIR"]),
        (["{faces}", "-o", "{out}", "--method", "pgd"], ["--method", "invalid choice"]),
    ],
)
def test_bad_command_lines_are_refused(cli, tmp_path, options, names):
    paths = {"faces": str(tmp_path), "out": str(tmp_path / "out")}
    cli("lineup", *[o.format(**paths) for o in options]).assert_refused(*names)


def test_write_then_score(cli, faces_dir, tmp_path):
    outdir = tmp_path / "lineup"
    outcome = cli("lineup", faces_dir, "-o", outdir, "--method", "pixelate", "--json")
    assert outcome.code == 0, outcome.err
    written = json.loads(outcome.out)
    assert written["trials"] == 2 and Path(written["page"]).is_file()
    key = json.loads((outdir / "key.json").read_text())
    answers = tmp_path / "answers.json"
    chosen = {trial: entry["answer"] for trial, entry in key["trials"].items()}
    answers.write_text(json.dumps({"test": key["test"], "answers": chosen}))
    scored = cli("lineup", "--score", answers, "--key", outdir / "key.json")
    assert scored.code == 0
    assert scored.out.startswith("re-identified 2 of 2 trials: 100.0% (95% CI ")


def test_an_unreadable_answers_file_is_one_line(cli, tmp_path):
    (tmp_path / "key.json").write_text('{"test": "x", "trials": {}}')
    (tmp_path / "a.json").write_text("not json")
    outcome = cli("lineup", "--score", tmp_path / "a.json", "--key", tmp_path / "key.json")
    assert outcome.code == 1 and "not a readable JSON file" in outcome.err
