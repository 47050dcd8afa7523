"""A face geometry that is nobody's: the 68 landmarks moved toward the mean shape of the training
faces nearest to them (k-Same on the geometry).

The generator draws the new face along the landmarks it is given, so landmarks predicted on the
person carry the person's own proportions (eye spacing, nose length, jaw) into the new face. The
training faces nearest in shape share the pose and the expression (those dominate the distance),
while their mean averages the identities away; moving toward that mean keeps pose and expression
and drops what was the person's own.

Example:
    >>> rng = np.random.default_rng(0)
    >>> bank = rng.normal(64, 10, (50, 68, 2)).astype(np.float32)
    >>> face = bank[0] + 1.0
    >>> mixed = anonymous_geometry(face, bank, neighbours=5, strength=1.0)
    >>> mixed.shape, bool(np.allclose(mixed, bank[nearest(face, bank, 5)].mean(0)))
    ((68, 2), True)
    >>> bool(np.allclose(anonymous_geometry(face, bank, 5, strength=0.0), face))
    True
"""

from __future__ import annotations

import numpy as np

BANK_SIZE = 4000
"""Training shapes kept with the generator (about 1 MB in half precision)."""
NEIGHBOURS = 20
"""Training faces averaged: enough to average the identities away, few enough to share the pose."""


def sample_shapes(points: np.ndarray, size: int = BANK_SIZE, seed: int = 0) -> np.ndarray:
    """At most ``size`` of the ``(N, 68, 2)`` crop landmarks, drawn without replacement, float16."""
    points = np.asarray(points)
    if len(points) > size:
        rows = np.sort(np.random.default_rng(seed).choice(len(points), size, replace=False))
        points = points[rows]
    return points.astype(np.float16)


SAME_SHAPE = 1.0
"""Summed squared distance (crop pixels) below which a bank shape is the face itself (a
training face, rounded to half precision in the bank) and is left out."""


def nearest(points: np.ndarray, bank: np.ndarray, neighbours: int) -> np.ndarray:
    """Rows of ``bank`` ``(M, 68, 2)`` nearest in shape to ``points`` ``(68, 2)`` (the face
    itself, when it is in the bank, left out)."""
    flat = np.asarray(bank, np.float32).reshape(len(bank), -1)
    distances = ((flat - np.asarray(points, np.float32).reshape(1, -1)) ** 2).sum(1)
    order = np.argsort(distances, kind="stable")
    order = order[distances[order] > SAME_SHAPE]
    return order[:neighbours]


def anonymous_geometry(
    points: np.ndarray, bank: np.ndarray, neighbours: int = NEIGHBOURS, strength: float = 1.0
) -> np.ndarray:
    """``points`` moved ``strength`` of the way to the mean of their ``neighbours`` nearest
    training shapes (0 keeps them; 1 takes that mean)."""
    points = np.asarray(points, np.float64)
    if strength == 0 or len(bank) == 0:
        return points
    mean = np.asarray(bank, np.float64)[nearest(points, bank, neighbours)].mean(0)
    return points + strength * (mean - points)
