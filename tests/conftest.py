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


@pytest.fixture(scope="session")
def grid_hidden_stripes():
    """A function adding columns of ``+d, +d, -d, -d, 0, 0, 0, 0`` to an image (``(h, w, 3)``
    array in 0-255 or ``(1, 3, h, w)`` tensor in [0, 1]): each block of four columns that starts
    on a multiple of four averages to nothing, so SSIMULACRA2's halvings hide it (past the finest
    scale) on a window that starts there and show it on one that starts two columns over."""

    def add(image, amount):
        width = image.shape[-1] if isinstance(image, torch.Tensor) else image.shape[1]
        stripes = np.resize(np.array([1.0, 1.0, -1.0, -1.0, 0.0, 0.0, 0.0, 0.0]), width) * amount
        if isinstance(image, torch.Tensor):
            return (image + torch.from_numpy(stripes).to(image.dtype)).clamp(0, 1)
        return np.clip(image + stripes[None, :, None], 0, 255).astype(np.uint8)

    return add
