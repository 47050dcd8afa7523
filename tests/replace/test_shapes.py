"""Anonymous geometry: the mean of the nearest training shapes, blended by a strength."""

from __future__ import annotations

import numpy as np

from facecloak.replace.shapes import MOUTH, anonymous_geometry, nearest, sample_shapes


def _bank(count: int = 60) -> np.ndarray:
    return np.random.default_rng(1).normal(64, 8, (count, 68, 2)).astype(np.float32)


def test_the_nearest_shapes_leave_out_the_face_itself():
    bank = _bank()
    rows = nearest(bank[3], bank, 4)
    assert 3 not in rows and len(rows) == 4
    distances = ((bank - bank[3]) ** 2).sum((1, 2))
    assert set(rows) == set(np.argsort(distances)[1:5])


def test_strength_moves_the_landmarks_part_of_the_way():
    bank, face = _bank(), _bank()[0] + 2.0
    full = anonymous_geometry(face, bank, 5, 1.0)
    half = anonymous_geometry(face, bank, 5, 0.5)
    assert np.allclose(half, (face + full) / 2)
    assert np.allclose(anonymous_geometry(face, bank, 5, 0.0), face)
    assert np.allclose(anonymous_geometry(face, bank[:0], 5, 1.0), face)


def test_the_anti_face_reverses_the_departures_from_the_mean_but_not_the_mouth():
    bank, face = _bank(), _bank()[0] + 2.0
    mean = anonymous_geometry(face, bank, 5, 1.0)
    anti = anonymous_geometry(face, bank, 5, 2.0)
    rest = np.ones(68, bool)
    rest[MOUTH] = False
    assert np.allclose(anti[rest] - mean[rest], mean[rest] - face[rest])
    # The mouth: the mean's own shape (its expression), at the anti-face's mouth centre.
    assert np.allclose(anti[MOUTH] - anti[MOUTH].mean(0), mean[MOUTH] - mean[MOUTH].mean(0))
    reversed_mouth = (2 * mean - face)[MOUTH]
    assert np.allclose(anti[MOUTH].mean(0), reversed_mouth.mean(0))
    assert not np.allclose(anti[MOUTH], reversed_mouth)


def test_the_bank_is_a_half_precision_sample():
    points = _bank(100)
    sampled = sample_shapes(points, size=30)
    assert sampled.shape == (30, 68, 2) and sampled.dtype == np.float16
    assert sample_shapes(points[:10], size=30).shape == (10, 68, 2)


def test_the_face_itself_is_left_out_even_rounded_to_half_precision():
    bank = sample_shapes(_bank(), size=60)
    rows = nearest(_bank()[7], bank, 3)
    assert 7 not in rows and len(rows) == 3
