"""Per-epoch sample grids, made from the public-domain sample faces only (astronaut, Grace
Hopper): for each face its crop, the generator's input, the face painted back with its own
attributes and with two random draws."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from facecloak.replace.attributes import choose_tokens, parse_choice, tokenize
from facecloak.replace.crops import ellipse_mask, landmark_maps
from facecloak.replace.generate import generate_crops
from facecloak.replace.model import Generator

MAX_BYTES = 20_000
RANDOM_DRAWS = 2


@dataclass(frozen=True)
class SampleFaces:
    """Aligned crops (N, 128, 128, 3), their points (N, 68, 2) and measures (N, attributes)."""

    crops: np.ndarray
    points: np.ndarray
    measures: np.ndarray


def public_domain_samples() -> SampleFaces:
    """The astronaut and Grace Hopper, prepared as training faces are."""
    from facecloak.data import astronaut, grace_hopper
    from facecloak.models.dlib_detectors import HogDetector
    from facecloak.replace.prepare import prepare_photo

    detector = HogDetector()
    prepared = [prepare_photo(photo, detector) for photo in (astronaut(), grace_hopper())]
    kept = [item for item in prepared if item is not None]
    return SampleFaces(*(np.stack(column) for column in zip(*kept, strict=True)))


def grid_rows(
    generator: Generator, samples: SampleFaces, edges: dict[str, np.ndarray]
) -> np.ndarray:
    """The grid as one RGB image: a row per face, columns as the module says."""
    measured = tokenize(samples.measures, edges)
    rows = []
    for crop, points, tokens in zip(samples.crops, samples.points, measured, strict=True):
        mask = ellipse_mask(points)[..., None]
        lines = landmark_maps(points).max(0)[..., None]
        shown_input = crop * (1 - mask) + 255 * lines * mask
        columns = [crop, shown_input.astype(np.uint8)]
        draws = [tokens] + [
            choose_tokens(tokens, parse_choice("random"), np.random.default_rng(seed))
            for seed in range(RANDOM_DRAWS)
        ]
        for drawn in draws:
            out = generate_crops(generator, crop[None], points[None], drawn[None])[0]
            columns.append((crop * (1 - mask) + out * mask).astype(np.uint8))
        rows.append(np.concatenate(columns, 1))
    return np.concatenate(rows, 0)


def write_grid(
    generator: Generator, samples: SampleFaces, edges: dict[str, np.ndarray], path: Path
) -> Path:
    """The grid as a JPEG under :data:`MAX_BYTES` (fit for docs/images): the best quality
    that fits, smaller when even quality 45 does not."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(grid_rows(generator, samples, edges))
    while True:
        for quality in (85, 75, 65, 55, 45):
            image.save(path, quality=quality, optimize=True)
            if path.stat().st_size <= MAX_BYTES:
                return path
        image = image.resize((image.width * 3 // 4, image.height * 3 // 4), Image.LANCZOS)
