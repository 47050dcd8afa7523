"""A face geometry that is nobody's: the 68 landmarks moved toward, and past, the mean shape of
the training faces nearest to them (k-Same on the geometry).

The generator draws the new face along the landmarks it is given, so landmarks predicted on the
person carry the person's own proportions (eye spacing, nose length, jaw) into the new face. The
training faces nearest in shape share the pose and the expression (those dominate the distance),
while their mean averages the identities away; moving toward that mean keeps pose and expression
and drops what was the person's own. Moving as far again, past the mean (``strength=2``, the
default of :data:`DEFAULT_STRENGTH`), gives the *anti-face*: each of the person's departures from
the mean reversed (a long nose drawn short, a wide jaw narrow), a shape as typical as the
person's own but far from it, which the recognizers see: on faces the generator never saw,
reid0001 and mobilefacenet stopped matching 98-100% of them instead of 85-94%
(``benchmarks/replacement.py``). The mouth is the exception: past the mean it keeps the mean's
shape (its smile or open mouth: expression) and only moves with the face.

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
DEFAULT_STRENGTH = 2.0
"""How far a replaced face's landmarks move: the anti-face (see the module's text)."""
MAX_STRENGTH = 2.0
"""Farther than the anti-face, shapes turn into caricatures (tried up to 2.6)."""
MOUTH = slice(48, 68)
"""The mouth's landmarks (outer and inner lips) among the 68."""


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
    training shapes (0 keeps them; 1 takes that mean; 2 the anti-face, with the mean's mouth
    moved to where the anti-face puts it).

    >>> bank = np.random.default_rng(1).normal(64, 10, (30, 68, 2))
    >>> face = bank[0] + 2.0
    >>> anti = anonymous_geometry(face, bank, 5, strength=2.0)
    >>> mean = bank[nearest(face, bank, 5)].mean(0)
    >>> bool(np.allclose(anti[:48], 2 * mean[:48] - face[:48]))
    True
    >>> mouth = anti[MOUTH] - anti[MOUTH].mean(0)
    >>> bool(np.allclose(mouth, mean[MOUTH] - mean[MOUTH].mean(0)))
    True
    """
    points = np.asarray(points, np.float64)
    if strength == 0 or len(bank) == 0:
        return points
    mean = np.asarray(bank, np.float64)[nearest(points, bank, neighbours)].mean(0)
    moved = points + strength * (mean - points)
    if strength > 1:
        # Reversing the mouth's departures would reverse the expression (a smile drawn as a
        # frown): it keeps the mean's shape and goes where the rest of the face puts it.
        moved[MOUTH] = mean[MOUTH] - mean[MOUTH].mean(0) + moved[MOUTH].mean(0)
    return moved
