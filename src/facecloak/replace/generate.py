"""Running the generator on aligned crops: the blanked ellipse painted with a new face.

Example:
    >>> from facecloak.replace.model import Generator, GeneratorConfig
    >>> generator = Generator(GeneratorConfig(widths=(8, 8, 8, 8, 8))).eval()
    >>> crop = np.zeros((128, 128, 3), np.uint8)
    >>> points = np.random.default_rng(0).uniform(40, 90, (68, 2))
    >>> generate_crops(generator, crop[None], points[None], np.ones((1, 12), np.int64)).shape
    (1, 128, 128, 3)
"""

from __future__ import annotations

import numpy as np
import torch

from facecloak.replace.batches import make_batch
from facecloak.replace.model import Generator


@torch.no_grad()
def generate_crops(
    generator: Generator,
    crops: np.ndarray,
    points: np.ndarray,
    tokens: np.ndarray,
    masks: np.ndarray | None = None,
) -> np.ndarray:
    """The generator's output (N, H, W, 3) uint8 for ``crops`` with their ``points`` and
    ``tokens`` (``masks``: what to blank, if not the ellipses of ``points``): the whole crop as
    generated (callers keep what lies outside the blanked region)."""
    generator.eval()
    batch = make_batch(crops, points, tokens, masks)
    fake = generator(batch.inputs, batch.tokens)
    pixels = ((fake.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return pixels.permute(0, 2, 3, 1).numpy()
