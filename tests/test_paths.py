from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

from facecloak.paths import remove_stale_temporaries


def _photo(path: Path, **save_options) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((16, 24, 3), 100, dtype=np.uint8)).save(path, **save_options)
    return path


def test_stale_temporaries_are_removed_but_nothing_else(tmp_path: Path) -> None:
    out = tmp_path / "out"
    stale = _photo(out / "sub" / ".a.png.abcd_123.partial", format="PNG")
    fresh = _photo(out / ".b.png.zzzz9999.partial", format="PNG")
    mine = _photo(out / "notes.partial", format="PNG")
    elsewhere = _photo(tmp_path / "victim" / ".c.png.abcdefgh.partial", format="PNG")
    (out / "link").symlink_to(elsewhere.parent)
    clip = _photo(out / ".e.abcdefgh.partial.mp4", format="PNG")
    (out / ".d.png.qqqqqqqq.partial").symlink_to(elsewhere)
    for path in (stale, mine, elsewhere, clip):
        os.utime(path, (1, 1))
    os.utime(out / ".d.png.qqqqqqqq.partial", (1, 1), follow_symlinks=False)
    assert remove_stale_temporaries(out) == 2 and not clip.exists()
    assert not stale.exists() and fresh.exists() and mine.exists() and elsewhere.exists()
    assert (out / ".d.png.qqqqqqqq.partial").is_symlink()
