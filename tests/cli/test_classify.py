"""`facecloak classify` with a model trained on generated face chips."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image


def test_classify_prints_the_top_identities(
    trained_model: Path, chips_folder: Path, cli, identities
) -> None:
    photo = chips_folder / "bob" / "0.png"
    code, out, _ = cli("classify", str(photo), "--model", str(trained_model), "--aligned")
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0].startswith(f"{photo}: ")
    assert len(lines) == 1 + len(identities)  # fewer classes than the default top 5
    assert {line.split()[1] for line in lines[1:]} == set(identities)


def test_classify_json(trained_model: Path, chips_folder: Path, cli) -> None:
    photo = chips_folder / "ada" / "3.png"
    argv = ["classify", str(photo), "--model", str(trained_model), "--aligned", "--json"]
    argv += ["--top", "2"]
    code, out, _ = cli(*argv)
    payload = json.loads(out)
    assert code == 0 and payload["ok"] and len(payload["predictions"]) == 2
    probabilities = [p["probability"] for p in payload["predictions"]]
    assert probabilities == sorted(probabilities, reverse=True)


def test_classify_needs_an_existing_model(chips_folder: Path, tmp_path: Path, cli) -> None:
    photo = chips_folder / "ada" / "0.png"
    code, _, err = cli("classify", str(photo), "--model", str(tmp_path / "no.pt"))
    assert code == 1 and "facecloak train" in err


def test_classify_rejects_a_foreign_file(chips_folder: Path, tmp_path: Path, cli) -> None:
    bogus = tmp_path / "bogus.pt"
    torch.save({"weights": torch.zeros(2)}, bogus)
    photo = chips_folder / "ada" / "0.png"
    code, _, err = cli("classify", str(photo), "--model", str(bogus))
    assert code == 1 and "not a facecloak classifier" in err


def test_classify_without_a_face(trained_model: Path, tmp_path: Path, cli) -> None:
    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((200, 200, 3), 90, np.uint8)).save(blank)
    code, _, err = cli("classify", str(blank), "--model", str(trained_model))
    assert code == 1 and "no face found" in err


@pytest.mark.parametrize(
    ("option", "value"),
    [("--top", "0"), ("--top", "-1"), ("--top", "two"), ("--detector", "foo")],
)
def test_bad_values_are_refused_before_any_work(cli, no_work, photo, option, value) -> None:
    outcome = cli("classify", photo, "--model", "m.pt", option, value)
    outcome.assert_refused(option, repr(value))


def test_detector_with_an_aligned_chip_is_refused(cli, no_work, photo) -> None:
    outcome = cli("classify", photo, "--model", "m.pt", "--aligned", "--detector", "hog")
    outcome.assert_refused("--detector", "--aligned")
