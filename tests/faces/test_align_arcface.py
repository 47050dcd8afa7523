"""ArcFace 5-point alignment: the fitted transform, the differentiable warp, and the points."""

from __future__ import annotations

import csv
import dataclasses
import logging
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from skimage import transform as sktransform

from facecloak.faces.align_arcface import (
    ARCFACE_TEMPLATE,
    arcface_points,
    arcface_points_from_dlib68,
    arcface_template,
    invert_affine,
    similarity_transform,
    warp_to_template,
)
from facecloak.faces.face import Face
from facecloak.images import load_image
from facecloak.models import detect

logger = logging.getLogger(__name__)

POINT_TOLERANCE_PX = 0.5  # where the 5 points land in the aligned face, in aligned pixels


def similarity(scale: float, degrees: float, shift: tuple[float, float]) -> np.ndarray:
    angle = math.radians(degrees)
    rotation = scale * np.array(
        [[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]]
    )
    return np.hstack([rotation, np.array(shift)[:, None]])


def apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ matrix[:, :2].T + matrix[:, 2]


def to_tensor(rgb: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(np.array(rgb)).permute(2, 0, 1).float().div(255)


def blob_photo(points: np.ndarray, sigma: float, height: int, width: int) -> np.ndarray:
    """A black ``(H, W, 3)`` float photo with a Gaussian blob centred on each point."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    photo = np.zeros((height, width))
    for x, y in points:
        photo += np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * sigma**2))
    return np.repeat(photo[..., None], 3, axis=2)


def blob_centroids(aligned: np.ndarray, around: np.ndarray, radius: int = 7) -> np.ndarray:
    """Intensity-weighted centre of the blob near each expected point of a ``(H, W)`` image."""
    ys, xs = np.mgrid[0 : aligned.shape[0], 0 : aligned.shape[1]].astype(np.float64)
    centres = []
    for x, y in around:
        window = ((xs - x) ** 2 + (ys - y) ** 2) <= radius**2
        weights = aligned * window
        centres.append([(weights * xs).sum() / weights.sum(), (weights * ys).sum() / weights.sum()])
    return np.array(centres)


# --------------------------------------------------------------------------- transform fitting


def test_similarity_transform_recovers_an_exact_similarity() -> None:
    truth = similarity(2.7, -23.0, (410.0, 95.5))
    fitted = similarity_transform(ARCFACE_TEMPLATE, apply(truth, ARCFACE_TEMPLATE))
    np.testing.assert_allclose(fitted, truth, atol=1e-9)


def test_similarity_transform_matches_scikit_image_on_noisy_points() -> None:
    rng = np.random.default_rng(0)
    photo_points = apply(similarity(1.8, 12.0, (100.0, 40.0)), ARCFACE_TEMPLATE)
    photo_points += rng.normal(0.0, 2.0, photo_points.shape)
    reference = sktransform.SimilarityTransform.from_estimate(photo_points, ARCFACE_TEMPLATE)
    np.testing.assert_allclose(
        similarity_transform(photo_points, ARCFACE_TEMPLATE), reference.params[:2], atol=1e-9
    )


def test_similarity_transform_never_mirrors() -> None:
    mirrored = ARCFACE_TEMPLATE * [-1.0, 1.0]
    fitted = similarity_transform(mirrored, ARCFACE_TEMPLATE)
    assert np.linalg.det(fitted[:, :2]) > 0


def test_similarity_transform_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="coincide"):
        similarity_transform(np.ones((5, 2)), ARCFACE_TEMPLATE)
    with pytest.raises(ValueError, match="matching"):
        similarity_transform(ARCFACE_TEMPLATE[:4], ARCFACE_TEMPLATE)


def test_invert_affine_round_trips() -> None:
    matrix = similarity(0.4, 70.0, (-3.0, 8.0))
    points = np.array([[1.0, 2.0], [30.0, -4.0]])
    np.testing.assert_allclose(apply(invert_affine(matrix), apply(matrix, points)), points)


def test_template_for_112_is_the_arcface_template() -> None:
    np.testing.assert_allclose(arcface_template(112), ARCFACE_TEMPLATE)
    np.testing.assert_allclose(arcface_template(224), (ARCFACE_TEMPLATE + 0.5) * 2 - 0.5)


# --------------------------------------------------------------------------- the warp


@pytest.mark.parametrize(
    ("scale", "degrees", "antialias"),
    [
        (0.7, 10.0, True),
        (1.0, 0.0, True),
        (1.3, -15.0, True),
        (3.0, 25.0, True),
        (8.0, -5.0, True),
        (3.0, 25.0, False),
    ],
)
def test_warp_puts_the_five_points_on_the_template(
    scale: float, degrees: float, antialias: bool
) -> None:
    photo_from_chip = similarity(scale, degrees, (60.0 * scale + 17.3, 30.0 * scale + 9.6))
    photo_points = apply(photo_from_chip, ARCFACE_TEMPLATE)
    side = int(np.ceil(photo_points.max() + 40 * scale))
    photo = blob_photo(photo_points, sigma=1.6 * scale, height=side, width=side)
    photo_tensor = torch.from_numpy(photo).permute(2, 0, 1).float()
    aligned = warp_to_template(photo_tensor, photo_points, antialias=antialias)
    centres = blob_centroids(aligned[0, 0].numpy(), ARCFACE_TEMPLATE)
    error = np.linalg.norm(centres - ARCFACE_TEMPLATE, axis=1).max()
    logger.info("scale %.1f: largest point error %.3f px", scale, error)
    assert error < POINT_TOLERANCE_PX


def test_warp_equals_scikit_image_bilinear_warp_without_antialiasing(astronaut: np.ndarray) -> None:
    points = arcface_points(astronaut, detect(astronaut, landmarks=False)[0])
    aligned = warp_to_template(to_tensor(astronaut), points, antialias=False)[0].permute(1, 2, 0)
    photo_to_chip = sktransform.SimilarityTransform(
        matrix=np.vstack([similarity_transform(points, ARCFACE_TEMPLATE), [0, 0, 1]])
    )
    reference = sktransform.warp(
        astronaut / 255.0, photo_to_chip.inverse, output_shape=(112, 112), order=1
    )
    assert np.abs(aligned.numpy() - reference).max() < 1e-4


def test_antialiasing_removes_aliasing_of_fine_detail() -> None:
    """A 1-pixel checkerboard seen at 1/5 scale must come out flat grey, not a moire."""
    scale = 5.0
    photo_points = apply(similarity(scale, 7.0, (150.0, 50.0)), ARCFACE_TEMPLATE)
    side = int(1.5 * 112 * scale)  # holds the whole rotated footprint: no black border
    checkerboard = (np.indices((side, side)).sum(axis=0) % 2).astype(np.float32)
    photo = torch.from_numpy(checkerboard).expand(3, side, side)
    filtered = warp_to_template(photo, photo_points, antialias=True)
    aliased = warp_to_template(photo, photo_points, antialias=False)
    logger.info("checkerboard std: antialiased %.4f, plain %.4f", filtered.std(), aliased.std())
    assert abs(float(filtered.mean()) - 0.5) < 0.01
    assert float(filtered.std()) < 0.02 < float(aliased.std())


def test_large_face_gradient_reaches_all_face_pixels_and_only_those() -> None:
    scale = 6.0
    photo_points = apply(similarity(scale, 0.0, (300.0, 200.0)), ARCFACE_TEMPLATE)
    photo = torch.rand(3, 1200, 1600, generator=torch.Generator().manual_seed(0))
    photo.requires_grad_()
    warp_to_template(photo, photo_points).square().sum().backward()
    assert photo.grad is not None and torch.isfinite(photo.grad).all()
    touched = photo.grad.abs().sum(0) > 0
    footprint = (112 * scale) ** 2
    # Anti-aliasing: (nearly) every pixel under the aligned face contributes, not 4 per sample.
    assert 0.9 * footprint < touched.sum() < 1.2 * footprint
    rows, cols = torch.nonzero(touched, as_tuple=True)
    assert rows.min() >= 200 - 2 * scale - 4 and rows.max() <= 200 + 112 * scale + 2 * scale + 4
    assert cols.min() >= 300 - 2 * scale - 4 and cols.max() <= 300 + 112 * scale + 2 * scale + 4


def test_warp_accepts_a_batched_image_and_points_as_a_tensor(astronaut: np.ndarray) -> None:
    points = arcface_points(astronaut, detect(astronaut, landmarks=False)[0])
    photo = to_tensor(astronaut)
    expected = warp_to_template(photo, points)
    actual = warp_to_template(photo[None], torch.from_numpy(points))
    assert actual.shape == (1, 3, 112, 112)
    assert torch.equal(actual, expected)
    assert warp_to_template(photo, points, size=224).shape == (1, 3, 224, 224)


def test_warp_rejects_bad_input(astronaut: np.ndarray) -> None:
    photo = to_tensor(astronaut)
    with pytest.raises(ValueError, match="shape"):
        warp_to_template(photo[None].expand(2, -1, -1, -1), ARCFACE_TEMPLATE)
    with pytest.raises(ValueError, match="float"):
        warp_to_template(torch.zeros(3, 10, 10, dtype=torch.uint8), ARCFACE_TEMPLATE)
    with pytest.raises(ValueError, match=r"\(5, 2\)"):
        warp_to_template(photo, ARCFACE_TEMPLATE[:4])


def test_face_outside_the_photo_gives_black() -> None:
    outside = ARCFACE_TEMPLATE + 1000.0
    aligned = warp_to_template(torch.ones(3, 50, 50), outside)
    assert aligned.shape == (1, 3, 112, 112) and float(aligned.abs().max()) == 0.0


def test_face_outside_the_photo_keeps_the_graph_connected() -> None:
    photo = torch.ones(3, 50, 50, requires_grad=True)
    warp_to_template(photo, ARCFACE_TEMPLATE + 1000.0).sum().backward()
    assert photo.grad is not None and float(photo.grad.abs().max()) == 0.0


# --------------------------------------------------------------------------- the five points


def check_point_layout(points: np.ndarray) -> None:
    """Image-left eye, image-right eye, nose, image-left and image-right mouth corner."""
    left_eye, right_eye, nose, left_mouth, right_mouth = points
    assert left_eye[0] < nose[0] < right_eye[0]
    assert left_mouth[0] < right_mouth[0]
    assert max(left_eye[1], right_eye[1]) < nose[1] < min(left_mouth[1], right_mouth[1])


def test_detector_keypoints_are_used_when_present(astronaut: np.ndarray) -> None:
    face = detect(astronaut, detector="centerface", landmarks=False)[0]
    assert face.detector_keypoints is not None
    points = arcface_points(astronaut, face)
    np.testing.assert_array_equal(points, face.detector_keypoints)
    check_point_layout(points)


@pytest.mark.parametrize("sample", ["astronaut", "grace_hopper"])
def test_dlib68_fallback_agrees_with_centerface(
    sample: str, request: pytest.FixtureRequest
) -> None:
    rgb = request.getfixturevalue(sample)
    face = detect(rgb, detector="centerface", landmarks=False)[0]
    from_dlib = arcface_points(rgb, dataclasses.replace(face, detector_keypoints=None))
    check_point_layout(from_dlib)
    assert_points_agree(from_dlib, face.detector_keypoints, sample)


def assert_points_agree(from_dlib: np.ndarray, from_centerface: np.ndarray, label: str) -> None:
    eye_distance = np.linalg.norm(from_centerface[1] - from_centerface[0])
    error = np.linalg.norm(from_dlib - from_centerface, axis=1).max() / eye_distance
    logger.info(
        "%s: dlib-68 vs CenterFace, largest gap %.1f%% of the eye distance", label, 100 * error
    )
    # The two annotate slightly different places (eye contour mean vs pupil, nose tip) and scatter
    # by ~7% of the eye distance per point on LFW; mixing up left and right would give ~100%.
    assert error < 0.3


def test_dlib68_points_on_a_hog_face_without_keypoints(astronaut: np.ndarray) -> None:
    face = Face(box=(175, 76, 266, 167), score=1.0, detector="hog")
    points = arcface_points(astronaut, face)
    np.testing.assert_array_equal(points, arcface_points_from_dlib68(astronaut, face.box))
    check_point_layout(points)


def lfw_photos(shared_faces: Path, count: int) -> list[Path]:
    with open(shared_faces / "lfw" / "pairs_devtest.csv") as handle:
        rows = list(csv.DictReader(handle))
    return [shared_faces / "lfw" / row["path1"] for row in rows[:: len(rows) // count]][:count]


def test_dlib68_fallback_agrees_with_centerface_on_lfw(shared_faces: Path) -> None:
    for path in lfw_photos(shared_faces, 8):
        rgb = load_image(path)
        faces = detect(rgb, detector="centerface", landmarks=False)
        face = min(faces, key=lambda f: abs((f.box[0] + f.box[2]) / 2 - rgb.shape[1] / 2))
        from_dlib = arcface_points(rgb, dataclasses.replace(face, detector_keypoints=None))
        assert_points_agree(from_dlib, face.detector_keypoints, path.name)
