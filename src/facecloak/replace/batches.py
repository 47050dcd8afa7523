"""Training batches of the generator: the crops of a :class:`~facecloak.replace.prepare.FaceSet`
with their ellipse, landmark maps and attribute tokens, as tensors.

Example:
    >>> crop = np.zeros((128, 128, 3), np.uint8)
    >>> points = np.random.default_rng(0).uniform(40, 90, (68, 2))
    >>> batch = make_batch(crop[None], points[None], np.ones((1, 12), np.int64))
    >>> tuple(batch.inputs.shape), tuple(batch.target.shape)
    ((1, 10, 128, 128), (1, 3, 128, 128))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from facecloak.replace.attributes import ATTRIBUTES, NAMES
from facecloak.replace.crops import ellipse_mask, landmark_maps

MIRRORED = ("yaw", "roll")
"""Attributes whose bins swap ends when the crop is flipped left to right."""


@dataclass(frozen=True)
class Batch:
    """``target`` (N, 3, H, W) in [-1, 1]; ``mask`` (N, 1, H, W), 1 in the ellipse; ``maps`` (N, 6,
    H, W); ``inputs``: masked target, mask and maps (N, 10, H, W); ``tokens`` (N, attributes)."""

    target: Tensor
    mask: Tensor
    maps: Tensor
    inputs: Tensor
    tokens: Tensor


def make_batch(
    crops: np.ndarray, points: np.ndarray, tokens: np.ndarray, masks: np.ndarray | None = None
) -> Batch:
    """The :class:`Batch` of ``crops`` (N, H, W, 3) uint8 with their 68 ``points`` (N, 68, 2);
    ``masks`` (N, H, W): the regions to blank, if not the ellipses of ``points``."""
    size = crops.shape[1]
    target = torch.from_numpy(np.array(crops, copy=True)).permute(0, 3, 1, 2).float() / 127.5 - 1
    if masks is None:
        masks = np.stack([ellipse_mask(p, size) for p in points])
    mask = torch.from_numpy(np.asarray(masks, np.float32))[:, None]
    maps = torch.from_numpy(np.stack([landmark_maps(p, size) for p in points]))
    inputs = torch.cat([target * (1 - mask), mask, maps], 1)
    target, inputs = (x.contiguous(memory_format=torch.channels_last) for x in (target, inputs))
    return Batch(target, mask, maps, inputs, torch.from_numpy(np.asarray(tokens, np.int64)))


def augment(
    crops: np.ndarray,
    points: np.ndarray,
    tokens: np.ndarray,
    rng: np.random.Generator,
    drop: float = 0.15,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Half the faces flipped left to right (points and pose tokens follow), and each token set
    absent with probability ``drop`` (so the generator also works without it)."""
    crops, points, tokens = crops.copy(), points.astype(np.float64), tokens.copy()
    flip = rng.random(len(crops)) < 0.5
    width = crops.shape[2]
    crops[flip] = crops[flip][:, :, ::-1]
    points[flip, :, 0] = width - 1 - points[flip, :, 0]
    for name in MIRRORED:
        column = NAMES.index(name)
        tokens[flip, column] = ATTRIBUTES[name] + 1 - tokens[flip, column]
    tokens[rng.random(tokens.shape) < drop] = 0
    return crops, points, tokens
