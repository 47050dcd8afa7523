from __future__ import annotations

import numpy as np
import pytest
import torch

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


def test_with_context_grows_the_crop_around_a_small_face_and_keeps_the_mask() -> None:
    from facecloak.faces import Face

    landmarks = np.array([[150, 120], [180, 120], [165, 135], [152, 150], [178, 150.0]])
    face = Face((140, 100, 190, 165), 0.9, landmarks=landmarks)
    region = face_region(face, 300, 400, size=112)
    grown = region.with_context(256, 300, 400)
    x0, y0, x1, y1 = grown.crop
    assert x1 - x0 >= 256 and y1 - y0 >= 256
    assert x0 % JPEG_BLOCK == 0 and y0 % JPEG_BLOCK == 0 and x1 <= 400 and y1 <= 300
    cx0, cy0, cx1, cy1 = region.crop
    assert x0 <= cx0 and y0 <= cy0 and x1 >= cx1 and y1 >= cy1
    inner = grown.mask[..., cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0]
    assert torch.equal(inner, region.mask)
    assert float(grown.mask.sum()) == pytest.approx(float(region.mask.sum()))  # margin: 0
    chip_point = np.array([56.0, 56.0, 1.0])
    before = region.chip_to_crop @ chip_point + (cx0, cy0)
    after = grown.chip_to_crop @ chip_point + (x0, y0)
    assert np.allclose(before, after)
    assert grown.with_context(256, 300, 400) is grown
