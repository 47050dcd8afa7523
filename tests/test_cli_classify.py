"""`facecloak train` and `facecloak classify` on a generated folder of aligned face chips."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from facecloak.cli import main

IDENTITIES = ("ada", "bob", "cy")


@pytest.fixture(autouse=True)
def single_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def chips_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One sub-folder per identity of 150x150 chips: each identity has its own bright corner."""
    folder = tmp_path_factory.mktemp("chips")
    rng = np.random.default_rng(0)
    for identity, name in enumerate(IDENTITIES):
        (folder / name).mkdir()
        for index in range(10):
            chip = rng.uniform(60, 140, size=(150, 150, 3))
            y, x = (10, 10) if identity == 0 else (10, 90) if identity == 1 else (90, 50)
            chip[y : y + 50, x : x + 50] += 100
            image = np.clip(chip, 0, 255).astype(np.uint8)
            Image.fromarray(image).save(folder / name / f"{index}.png")
    return folder


@pytest.fixture(scope="module")
def trained_model(chips_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    model = tmp_path_factory.mktemp("model") / "model.pt"
    argv = [
        "train",
        str(chips_folder),
        "-o",
        str(model),
        "--aligned",
        "--epochs",
        "6",
        "--image-size",
        "32",
        "--batch-size",
        "8",
        "--lr",
        "0.003",
        "--cache",
        str(model.parent / "cache"),
    ]
    torch.set_num_threads(1)
    assert main(argv) == 0
    return model


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_train_saves_a_model_with_its_class_names(trained_model: Path) -> None:
    from facecloak.classify import load_classifier, training_info

    model = load_classifier(trained_model)
    assert model.class_names == list(IDENTITIES) and model.image_size == 32
    history = training_info(trained_model)["history"]
    assert len(history) == 6 and all(h["val_accuracy"] is not None for h in history)


def test_classify_prints_the_top_identities(
    trained_model: Path, chips_folder: Path, capsys
) -> None:
    photo = chips_folder / "bob" / "0.png"
    code, out, _ = run(["classify", str(photo), "--model", str(trained_model), "--aligned"], capsys)
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0].startswith(f"{photo}: ")
    assert len(lines) == 1 + len(IDENTITIES)  # fewer classes than the default top 5
    assert {line.split()[1] for line in lines[1:]} == set(IDENTITIES)


def test_classify_json(trained_model: Path, chips_folder: Path, capsys) -> None:
    photo = chips_folder / "ada" / "3.png"
    argv = ["classify", str(photo), "--model", str(trained_model), "--aligned", "--json"]
    argv += ["--top", "2"]
    code, out, _ = run(argv, capsys)
    payload = json.loads(out)
    assert code == 0 and payload["ok"] and len(payload["predictions"]) == 2
    probabilities = [p["probability"] for p in payload["predictions"]]
    assert probabilities == sorted(probabilities, reverse=True)


def test_train_json_reports_history(chips_folder: Path, tmp_path: Path, capsys) -> None:
    model = tmp_path / "m.pt"
    argv = ["train", str(chips_folder), "-o", str(model), "--aligned", "--json", "--epochs", "1"]
    argv += ["--image-size", "32", "--batch-size", "8", "--cache", str(tmp_path / "cache")]
    code, out, _ = run(argv, capsys)
    payload = json.loads(out)
    assert code == 0 and payload["ok"] and payload["classes"] == 3
    assert payload["best_epoch"] == 1 and len(payload["history"]) == 1 and model.is_file()


def test_train_refuses_to_overwrite(trained_model: Path, chips_folder: Path, capsys) -> None:
    code, _, err = run(["train", str(chips_folder), "-o", str(trained_model), "--aligned"], capsys)
    assert code == 1 and "--overwrite" in err


def test_train_rejects_bad_options(chips_folder: Path, tmp_path: Path, capsys) -> None:
    out = str(tmp_path / "m.pt")
    argv = ["train", str(chips_folder), "-o", out, "--aligned", "--val-split", "1.5"]
    code, _, err = run(argv, capsys)
    assert code == 1 and "--val-split" in err
    argv = ["train", str(chips_folder), "-o", out, "--arch", "dlib-head", "--image-size", "64"]
    code, _, err = run(argv, capsys)
    assert code == 1 and "150" in err


def test_classify_needs_an_existing_model(chips_folder: Path, tmp_path: Path, capsys) -> None:
    photo = chips_folder / "ada" / "0.png"
    code, _, err = run(["classify", str(photo), "--model", str(tmp_path / "no.pt")], capsys)
    assert code == 1 and "facecloak train" in err


def test_classify_rejects_a_foreign_file(chips_folder: Path, tmp_path: Path, capsys) -> None:
    bogus = tmp_path / "bogus.pt"
    torch.save({"weights": torch.zeros(2)}, bogus)
    photo = chips_folder / "ada" / "0.png"
    code, _, err = run(["classify", str(photo), "--model", str(bogus)], capsys)
    assert code == 1 and "not a facecloak classifier" in err


def test_classify_without_a_face(trained_model: Path, tmp_path: Path, capsys) -> None:
    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((200, 200, 3), 90, np.uint8)).save(blank)
    code, _, err = run(["classify", str(blank), "--model", str(trained_model)], capsys)
    assert code == 1 and "no face found" in err
