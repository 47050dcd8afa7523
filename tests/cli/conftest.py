"""Running ``facecloak.cli.main`` in-process, and checking how it refuses a bad command line."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
import torch
from PIL import Image

from facecloak.cli import main

IDENTITIES = ("ada", "bob", "cy")


class Outcome(NamedTuple):
    """What one ``facecloak`` run printed and returned."""

    code: int
    out: str
    err: str

    def assert_refused(self, *names: str) -> None:
        """Exit 2, one line on stderr naming every one of ``names``, no traceback; with
        ``--json``, a JSON ``{"ok": false}`` document on stdout."""
        assert self.code == 2, (self.code, self.out, self.err)
        lines = self.err.strip().splitlines()
        assert len(lines) == 1, self.err
        assert "Traceback" not in self.err
        for name in names:
            assert name in lines[0], (name, lines[0])
        if self.out:
            payload = json.loads(self.out)
            assert payload == {"ok": False, "error": payload["error"]}


Run = Callable[..., Outcome]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Run:
    """``cli("detect", path, "--json")`` runs the command and returns its :class:`Outcome`."""

    def run(*argv: str | Path) -> Outcome:
        code = main([str(arg) for arg in argv])
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    return run


def _forbidden(*_args: object, **_kwargs: object) -> None:
    raise AssertionError("the command started working on a bad command line")


@pytest.fixture
def no_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any real work (reading a photo, a model or a dataset; protecting) fail the test."""
    import facecloak.classify
    import facecloak.evaluate.detection_protection as dp
    import facecloak.evaluate.protection
    import facecloak.images
    import facecloak.protect.batch

    for module, name in [
        (facecloak.images, "load_image"),
        (facecloak.images, "read_image"),
        (facecloak.protect.batch, "protect_files"),
        (facecloak.evaluate.protection, "evaluate_protection"),
        (facecloak.evaluate.protection, "load_judges"),
        (dp, "photos_from_folder"),
        (facecloak.classify, "load_chip_set"),
        (facecloak.classify, "load_classifier"),
    ]:
        monkeypatch.setattr(module, name, _forbidden)


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    """A file with an image name (never read by the validation tests)."""
    path = tmp_path / "photo.png"
    path.write_bytes(b"not read")
    return path


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from facecloak.data import write_samples

    folder = tmp_path_factory.mktemp("photos")
    astronaut, hopper, _ = write_samples(folder)
    blank = folder / "blank.png"
    Image.fromarray(np.full((200, 300, 3), 90, dtype=np.uint8)).save(blank)
    text = folder / "notes.jpg"
    text.write_text("not an image\n")
    empty = folder / "empty.jpg"
    empty.touch()
    return {
        "astronaut": astronaut,
        "hopper": hopper,
        "blank": blank,
        "text": text,
        "empty": empty,
        "dir": folder,
    }


@pytest.fixture
def identities() -> list[str]:
    """The identities of :func:`chips_folder`, in class order."""
    return list(IDENTITIES)


@pytest.fixture(autouse=True)
def _one_torch_thread(single_thread):
    """Every test here runs on one torch thread (``single_thread`` in tests/conftest.py)."""


@pytest.fixture(scope="package")
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


@pytest.fixture(scope="package")
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
