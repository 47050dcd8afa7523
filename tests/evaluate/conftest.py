"""A labelled folder for line-up tests: the two public-domain faces (each twice, the second
mirrored) and eight generated "people" (smooth colour fields, one picture each)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

FILLERS = 8


@pytest.fixture(scope="session")
def lineup_folder(tmp_path_factory, astronaut, grace_hopper) -> Path:
    folder = tmp_path_factory.mktemp("lineup-faces")
    for name, rgb in (("astronaut", astronaut), ("hopper", grace_hopper)):
        (folder / name).mkdir()
        Image.fromarray(rgb).save(folder / name / "1.png")
        Image.fromarray(np.ascontiguousarray(rgb[:, ::-1])).save(folder / name / "2.png")
    rng = np.random.default_rng(0)
    for number in range(FILLERS):
        (folder / f"filler{number}").mkdir()
        small = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
        picture = Image.fromarray(small).resize((128, 128), Image.Resampling.BICUBIC)
        picture.save(folder / f"filler{number}" / "1.png")
    return folder
