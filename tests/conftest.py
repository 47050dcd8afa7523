"""Shared fixtures: public-domain faces that always exist and the optional real-photo folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from facecloak.data import samples
from facecloak.paths import shared_faces_dir


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    return samples.astronaut()


@pytest.fixture(scope="session")
def grace_hopper() -> np.ndarray:
    return samples.grace_hopper()


@pytest.fixture(scope="session")
def grace_hopper_path() -> Path:
    return samples.grace_hopper_path()


@pytest.fixture(scope="session")
def shared_faces() -> Path:
    """``<shared>/data/faces``; skips the test where the shared folder is absent."""
    folder = shared_faces_dir()
    if folder is None:
        pytest.skip("real face photos absent: set FACECLOAK_SHARED or put shared/ beside the repo")
    return folder


@pytest.fixture
def single_thread():
    """Tiny tensors: one torch thread avoids OpenMP threads waiting on each other on a busy
    CPU (test folders of small models use it for every test, see their conftest)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
