from __future__ import annotations

import numpy as np
import pytest

from facecloak.faces.ellipse import JPEG_BLOCK
from facecloak.faces.regions import face_region
from facecloak.models import detect


@pytest.fixture(scope="module")
def hopper_region(grace_hopper):
    face = detect(grace_hopper)[0]
    return face, face_region(face, *grace_hopper.shape[:2])


def test_crop_is_inside_the_photo_and_on_the_jpeg_grid(grace_hopper, hopper_region) -> None:
    _, region = hopper_region
    x0, y0, x1, y1 = region.crop
    height, width = grace_hopper.shape[:2]
    assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
    assert x0 % JPEG_BLOCK == 0 and y0 % JPEG_BLOCK == 0
    assert region.mask.shape == (1, 1, y1 - y0, x1 - x0)


def test_mask_is_one_on_the_face_and_zero_at_the_crop_edge(hopper_region) -> None:
    face, region = hopper_region
    mask = region.mask[0, 0].numpy()
    assert mask.min() == 0.0 and mask.max() == 1.0
    assert (mask[0] == 0).all() and (mask[-1] == 0).all()
    assert (mask[:, 0] == 0).all() and (mask[:, -1] == 0).all()
    for x, y in face.landmarks:  # eye corners and nose are well inside
        assert mask[round(y) - region.crop[1], round(x) - region.crop[0]] == 1.0


def test_mask_box_covers_the_landmarks(hopper_region) -> None:
    face, region = hopper_region
    x0, y0, x1, y1 = region.mask_box
    assert np.all((face.landmarks[:, 0] > x0) & (face.landmarks[:, 0] < x1))
    assert np.all((face.landmarks[:, 1] > y0) & (face.landmarks[:, 1] < y1))


def test_region_needs_landmarks(grace_hopper) -> None:
    face = detect(grace_hopper, landmarks=False)[0]
    with pytest.raises(ValueError, match="landmarks"):
        face_region(face, *grace_hopper.shape[:2])
