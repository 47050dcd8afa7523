"""Image grids for the evaluation reports: original, protected and their amplified difference.

Example:
    >>> before = np.zeros((4, 4, 3), np.uint8)
    >>> int(np.asarray(amplified_difference(before, before + 1))[0, 0, 0])  # 127.5 + 10, floored
    137
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

from facecloak.faces.face import Face
from facecloak.geometry import Box

DIFFERENCE_GAIN = 10
"""How much the difference picture amplifies the change (mid-grey is no change)."""


def amplified_difference(before: np.ndarray, after: np.ndarray) -> Image.Image:
    """``after - before`` times :data:`DIFFERENCE_GAIN` around mid-grey, as a picture."""
    difference = np.asarray(after, np.float32) - np.asarray(before, np.float32)
    return Image.fromarray(np.clip(127.5 + DIFFERENCE_GAIN * difference, 0, 255).astype(np.uint8))


def detection_grid(
    rows: Sequence[tuple[np.ndarray, list[Face], np.ndarray, list[Face]]], tile: int = 320
) -> Image.Image | None:
    """Per ``(original, faces on it, protected, faces on it)``: both photos with their faces drawn,
    then the amplified difference, each fitted into a ``tile`` square; ``None`` for no rows."""
    from facecloak.faces.draw import draw_faces

    if not rows:
        return None
    grid = Image.new("RGB", (3 * tile, len(rows) * tile), "white")
    for row, (original, original_faces, protected, protected_faces) in enumerate(rows):
        pictures = (
            draw_faces(original, original_faces),
            draw_faces(protected, protected_faces),
            amplified_difference(original, protected),
        )
        for column, picture in enumerate(pictures):
            picture.thumbnail((tile, tile), Image.Resampling.LANCZOS)
            offset = ((tile - picture.width) // 2, (tile - picture.height) // 2)
            grid.paste(picture, (column * tile + offset[0], row * tile + offset[1]))
    return grid


def face_grid(
    rows: Sequence[tuple[np.ndarray, np.ndarray, Box]], tile: int = 224
) -> Image.Image | None:
    """Per ``(original, protected, face box)``: the face with 30% margin before, after, and the
    amplified difference, each resized to a ``tile`` square; ``None`` for no rows.

    Example:
        >>> photo = np.zeros((40, 40, 3), np.uint8)
        >>> face_grid([(photo, photo, (10, 10, 30, 30))], tile=8).size
        (24, 8)
    """
    if not rows:
        return None
    grid = Image.new("RGB", (3 * tile, len(rows) * tile), "white")
    for row, (original, protected, face_box) in enumerate(rows):
        x0, y0, x1, y1 = face_box
        pad = 0.3 * max(x1 - x0, y1 - y0)
        box = (max(0, round(x0 - pad)), max(0, round(y0 - pad)), round(x1 + pad), round(y1 + pad))
        before = Image.fromarray(original).crop(box)
        after = Image.fromarray(protected).crop(box)
        amplified = amplified_difference(np.asarray(before), np.asarray(after))
        for column, picture in enumerate((before, after, amplified)):
            grid.paste(picture.resize((tile, tile)), (column * tile, row * tile))
    return grid
