"""`facecloak train` on a generated folder of aligned face chips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def test_train_saves_a_model_with_its_class_names(trained_model: Path, identities) -> None:
    from facecloak.classify import load_classifier, training_info

    model = load_classifier(trained_model)
    assert model.class_names == identities and model.image_size == 32
    history = training_info(trained_model)["history"]
    assert len(history) == 6 and all(h["val_accuracy"] is not None for h in history)


def test_train_json_reports_history(chips_folder: Path, tmp_path: Path, cli) -> None:
    model = tmp_path / "m.pt"
    argv = ["train", str(chips_folder), "-o", str(model), "--aligned", "--json", "--epochs", "1"]
    argv += ["--image-size", "32", "--batch-size", "8", "--cache", str(tmp_path / "cache")]
    code, out, _ = cli(*argv)
    payload = json.loads(out)
    assert code == 0 and payload["ok"] and payload["classes"] == 3
    assert payload["best_epoch"] == 1 and len(payload["history"]) == 1 and model.is_file()


def test_train_refuses_to_overwrite(trained_model: Path, chips_folder: Path, cli, no_work) -> None:
    outcome = cli("train", chips_folder, "-o", trained_model, "--aligned")
    outcome.assert_refused("-o/--output", str(trained_model), "--overwrite")


def test_dlib_head_needs_150_px_chips(chips_folder: Path, tmp_path: Path, cli, no_work) -> None:
    argv = ["train", chips_folder, "-o", tmp_path / "m.pt", "--arch", "dlib-head"]
    cli(*argv, "--image-size", "64").assert_refused("--image-size", "'64'", "dlib-head", "150")


BAD_VALUES = [
    ("--arch", "vgg"),
    ("--epochs", "0"),
    ("--epochs", "-2"),
    ("--epochs", "1.5"),
    ("--lr", "0"),
    ("--lr", "-0.1"),
    ("--lr", "nan"),
    ("--lr", "inf"),
    ("--batch-size", "1"),
    ("--batch-size", "0"),
    ("--val-split", "1"),
    ("--val-split", "1.5"),
    ("--val-split", "-0.1"),
    ("--val-split", "nan"),
    ("--image-size", "0"),
    ("--image-size", "8"),
    ("--image-size", "100000"),
    ("--min-per-identity", "0"),
    ("--seed", "-1"),
    ("--seed", "x"),
    ("--detector", "foo"),
]


@pytest.mark.parametrize(("option", "value"), BAD_VALUES)
def test_bad_values_are_refused_before_any_work(
    cli, no_work, tmp_path: Path, option: str, value: str
) -> None:
    outcome = cli("train", tmp_path, "-o", tmp_path / "m.pt", option, value)
    outcome.assert_refused(option, repr(value))


def test_detector_with_aligned_chips_is_refused(cli, no_work, tmp_path: Path) -> None:
    argv = ["train", tmp_path, "-o", tmp_path / "m.pt", "--aligned", "--detector", "hog"]
    cli(*argv).assert_refused("--detector", "'hog'", "--aligned")


@pytest.mark.parametrize(("where", "option"), [("a/m.pt", "-o/--output"), ("c", "--cache")])
def test_outputs_under_a_file_are_refused(cli, no_work, tmp_path, where, option) -> None:
    (tmp_path / "file").write_text("x")
    model, cache = tmp_path / "m.pt", tmp_path / "cache"
    if option == "--cache":
        cache = tmp_path / "file" / where
    else:
        model = tmp_path / "file" / where
    outcome = cli("train", tmp_path, "-o", model, "--cache", cache)
    outcome.assert_refused(option, "file")
