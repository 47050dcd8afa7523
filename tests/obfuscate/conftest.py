"""The public-domain faces with their 68 landmarks, and a donor folder of one public-domain face."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facecloak.faces.landmarks import predict_landmarks_68
from facecloak.models import detect, largest_face


@pytest.fixture(scope="session")
def astronaut_points(astronaut: np.ndarray) -> np.ndarray:
    return predict_landmarks_68(astronaut, largest_face(detect(astronaut)).box)


@pytest.fixture(scope="session")
def hopper_points(grace_hopper: np.ndarray) -> np.ndarray:
    return predict_landmarks_68(grace_hopper, largest_face(detect(grace_hopper)).box)


@pytest.fixture
def hopper_donors(tmp_path: Path, grace_hopper: np.ndarray, monkeypatch) -> Path:
    """A donor folder holding Grace Hopper; the donor cache in ``tmp_path``."""
    monkeypatch.setenv("FACECLOAK_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "donors"
    folder.mkdir()
    Image.fromarray(grace_hopper).save(folder / "hopper.png")
    return folder
