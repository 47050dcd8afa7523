"""The OpenCV SSIMULACRA2 gives the reference package's scores, on every shape and change."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from facecloak import ssimulacra_score
from facecloak.ssimulacra_score import (
    maps_read,
    reference_package_score,
    scale_count,
    ssimulacra2_uint8,
)

pytest.importorskip("ssimulacra2")


def _changed(rgb: np.ndarray, kind: str) -> np.ndarray:
    rng = np.random.default_rng(1)
    if kind == "jpeg":
        stream = io.BytesIO()
        Image.fromarray(rgb).save(stream, "JPEG", quality=50)
        return np.asarray(Image.open(stream))
    if kind == "noise":
        return np.clip(rgb + rng.normal(0, 8, rgb.shape), 0, 255).astype(np.uint8)
    if kind == "blur":
        return cv2.GaussianBlur(rgb, (5, 5), 0)
    wave = 15 * np.sin(np.arange(rgb.shape[0]) / 7)[:, None, None]  # colour bands down the face
    return np.clip(rgb + wave * np.array([1.0, -0.5, 0.2]), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("kind", ["jpeg", "noise", "blur", "bands"])
@pytest.mark.parametrize("shape", [(200, 180), (131, 97), (33, 64), (8, 8), (9, 15)])
def test_scores_are_the_reference_packages(astronaut, kind, shape) -> None:
    height, width = shape
    face = np.ascontiguousarray(astronaut[40 : 40 + height, 150 : 150 + width])
    changed = _changed(face, kind)
    assert ssimulacra2_uint8(face, changed) == pytest.approx(
        reference_package_score(face, changed), abs=1e-6
    )


def test_the_axes_are_not_interchangeable(astronaut) -> None:
    """The reference pads one axis with zeros and mirrors the other: a transposed pair scores
    differently, and the same as the reference's score of it."""
    face = np.ascontiguousarray(astronaut[30:130, 160:230])
    changed = _changed(face, "noise")
    turned, turned_changed = face.transpose(1, 0, 2).copy(), changed.transpose(1, 0, 2).copy()
    ours, ours_turned = ssimulacra2_uint8(face, changed), ssimulacra2_uint8(turned, turned_changed)
    assert ours != pytest.approx(ours_turned, abs=1e-6)
    assert ours_turned == pytest.approx(reference_package_score(turned, turned_changed), abs=1e-6)


def test_identical_images_score_100_and_larger_changes_lower(grace_hopper) -> None:
    face = np.ascontiguousarray(grace_hopper[50:250, 130:330])
    slight = np.clip(face.astype(int) + 2, 0, 255).astype(np.uint8)
    strong = np.clip(face.astype(int) + 25, 0, 255).astype(np.uint8)
    assert ssimulacra2_uint8(face, face) == 100.0
    assert 100.0 > ssimulacra2_uint8(face, slight) > ssimulacra2_uint8(face, strong)


@pytest.mark.parametrize("shape", [(60, 60), (130, 140), (300, 260)])
def test_skipping_the_unweighted_maps_changes_no_score(astronaut, shape, monkeypatch) -> None:
    face = np.ascontiguousarray(astronaut[: shape[0], 120 : 120 + shape[1]])
    changed = _changed(face, "noise")
    levels = scale_count(*shape)
    assert not all(all(map(all, scale)) for scale in maps_read(levels))
    skipping = ssimulacra2_uint8(face, changed)
    every = (((True, True, True),) * 3,) * levels
    monkeypatch.setattr(ssimulacra_score, "maps_read", lambda _: every)
    assert ssimulacra2_uint8(face, changed) == pytest.approx(skipping, abs=1e-12)


def test_scale_count_stops_below_eight_pixels() -> None:
    assert scale_count(8, 8) == 1
    assert scale_count(16, 400) == 2
    assert scale_count(31, 400) == 3  # 31 -> 16 -> 8: an odd side rounds up
    assert scale_count(1000, 1000) == 6


@pytest.mark.parametrize(
    ("first", "second"),
    [((7, 30, 3), (7, 30, 3)), ((20, 20, 3), (20, 21, 3)), ((20, 20), (20, 20))],
)
def test_bad_shapes_are_refused_by_name(first, second) -> None:
    with pytest.raises(ValueError, match="need"):
        ssimulacra2_uint8(np.zeros(first, np.uint8), np.zeros(second, np.uint8))


def test_images_other_than_bytes_are_refused_by_name() -> None:
    photo = np.zeros((20, 20, 3), np.uint8)
    with pytest.raises(ValueError, match="need uint8"):
        ssimulacra2_uint8(photo, photo.astype(np.float32))
