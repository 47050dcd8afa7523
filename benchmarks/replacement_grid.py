"""The replacement benchmark's picture: the public-domain sample faces under every method.

Each sample is the other's swap donor, so nothing but public-domain faces is drawn. The grid is a
small JPEG (under 20 KB) committed with the benchmark's results.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from facecloak.data import astronaut, grace_hopper
from facecloak.models import detect, largest_face
from facecloak.protect import ProtectConfig, protect

TILE = 112
MAX_BYTES = 20_000


OWN_SHAPE = "replace (own shape)"
MEAN_SHAPE = "replace (mean shape)"
FIRST_DRAW = "replace (first draw)"
REPLACE_VARIANTS = {
    OWN_SHAPE: {"shape_mix": 0.0},
    MEAN_SHAPE: {"shape_mix": 1.0},
    FIRST_DRAW: {"candidates": 1},
    "replace+cloak": {"then": "cloak"},
}
"""The benchmark's rows that run ``replace`` with one setting changed from its defaults."""


def sample_config(method: str, donors: Path) -> ProtectConfig:
    """The settings a benchmark row called ``method`` runs."""
    if method == "swap":
        return ProtectConfig(method="swap", donors=donors)
    if method in REPLACE_VARIANTS:
        return ProtectConfig(method="replace", **REPLACE_VARIANTS[method])  # type: ignore[arg-type]
    return ProtectConfig(method=method)


def face_tile(rgb: np.ndarray, box: tuple[float, float, float, float]) -> Image.Image:
    x0, y0, x1, y1 = box
    pad = 0.35 * max(x1 - x0, y1 - y0)
    crop = (round(x0 - pad), round(y0 - pad), round(x1 + pad), round(y1 + pad))
    return Image.fromarray(rgb).crop(crop).resize((TILE, TILE), Image.Resampling.LANCZOS)


def write_sample_grid(path: Path, methods: list[str]) -> Path:
    """Rows: astronaut, Grace Hopper; columns: the original, then each method."""
    samples = {"astronaut": astronaut(), "grace_hopper": grace_hopper()}
    label_height = 14
    columns = ["original", *methods]
    grid = Image.new("RGB", (TILE * len(columns), label_height + TILE * len(samples)), "white")
    draw = ImageDraw.Draw(grid)
    for column, title in enumerate(columns):
        draw.text((column * TILE + 4, 1), title, fill="black")
    with tempfile.TemporaryDirectory() as folder:
        for row, (name, rgb) in enumerate(samples.items()):
            donors = Path(folder) / f"donors-for-{name}"
            donors.mkdir()
            other = next(v for k, v in samples.items() if k != name)
            Image.fromarray(other).save(donors / "donor.png")
            face = largest_face(detect(rgb))
            pictures = [rgb] + [
                protect(rgb, sample_config(m, donors), detected=[face]).image for m in methods
            ]
            for column, picture in enumerate(pictures):
                tile = face_tile(picture, face.box)
                grid.paste(tile, (column * TILE, label_height + row * TILE))
    return save_small_jpeg(grid, path)


def save_small_jpeg(image: Image.Image, path: Path, max_bytes: int = MAX_BYTES) -> Path:
    """``image`` as a JPEG under ``max_bytes``: lower quality first, then smaller."""
    while True:
        for quality in (80, 70, 60, 50, 40):
            image.save(path, quality=quality, optimize=True)
            if path.stat().st_size < max_bytes:
                return path
        smaller = (image.width * 4 // 5, image.height * 4 // 5)
        image = image.resize(smaller, Image.Resampling.LANCZOS)
