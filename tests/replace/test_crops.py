"""Alignment, the ellipse and the landmark maps on the public-domain astronaut."""

from __future__ import annotations

import numpy as np

from facecloak.replace.crops import (
    CROP_SIZE,
    TEMPLATE,
    alignment,
    ellipse_mask,
    key_points,
    landmark_maps,
    transform_points,
)


def test_alignment_puts_the_eyes_on_the_template(astronaut, prepared_astronaut):
    crop, points, _ = prepared_astronaut
    assert crop.shape == (CROP_SIZE, CROP_SIZE, 3)
    assert np.abs(key_points(points)[:2] - TEMPLATE[:2] * CROP_SIZE).max() < 4


def test_points_round_trip_through_the_alignment(prepared_astronaut):
    points = prepared_astronaut[1].astype(np.float64)
    matrix = alignment(points)
    back = transform_points(
        transform_points(points, matrix), np.linalg.inv(np.vstack([matrix, [0, 0, 1]]))[:2]
    )
    assert np.allclose(back, points, atol=1e-6)


def test_the_ellipse_covers_the_face_and_leaves_a_ring(prepared_astronaut):
    points = prepared_astronaut[1]
    mask = ellipse_mask(points)
    inside = mask[np.round(points[:, 1]).astype(int), np.round(points[:, 0]).astype(int)]
    assert inside.mean() > 0.95
    assert mask[:8].sum() == 0 and mask[:, :8].sum() == 0 and 0.2 < mask.mean() < 0.6


def test_landmark_maps_draw_each_part_group(prepared_astronaut):
    maps = landmark_maps(prepared_astronaut[1])
    assert maps.shape == (6, CROP_SIZE, CROP_SIZE) and maps.max() <= 1.0
    assert all(channel.max() > 0.3 for channel in maps)
