"""The differentiable alignment must cut the same chips as ``dlib.get_face_chip``.

The per-dataset differences are logged: ``pytest tests/faces/test_align.py -o log_cli=true
-o log_cli_level=INFO`` shows them.
"""

from __future__ import annotations

import csv
import logging
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import dlib
import numpy as np
import pytest
import torch
from PIL import Image

from facecloak.faces.align import (
    chip_transform,
    chips_region,
    extract_chips,
    face_chips,
    plan_chip,
)
from facecloak.faces.face import Face
from facecloak.faces.pyramid import pyramid_down
from facecloak.imaging import to_tensor, to_uint8
from facecloak.paths import dlib_model_path, shared_faces_dir

logger = logging.getLogger(__name__)

SIZE = 150
PADDING = 0.25
# The brief's tolerance: mean absolute difference to dlib's chip, in [0, 1] units.
MEAN_TOLERANCE = 2 / 255
# dlib rounds down at every pyramid level and at the end; we subtract the mean instead, so single
# pixels can differ by about one level per pyramid level plus one.
MAX_TOLERANCE = 5 / 255


@lru_cache(maxsize=1)
def _dlib_models() -> tuple:
    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(str(dlib_model_path("shape_predictor_5")))
    return detector, predictor


def _shapes(rgb: np.ndarray, upsample: int = 1) -> list:
    """dlib's 5-point shapes for every face dlib's HOG detector finds."""
    detector, predictor = _dlib_models()
    return [predictor(rgb, rect) for rect in detector(rgb, upsample)]


def _landmarks(shape) -> np.ndarray:
    return np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float64)


def _face(shape) -> Face:
    rect = shape.rect
    box = (rect.left(), rect.top(), rect.right() + 1, rect.bottom() + 1)
    return Face(box=box, score=1.0, landmarks=_landmarks(shape), detector="hog")


def _chip_differences(
    rgb: np.ndarray,
    shape,
    size: int = SIZE,
    padding: float = PADDING,
) -> tuple[float, float]:
    """Mean and max absolute difference between our chip and dlib's, in [0, 1] units."""
    reference = dlib.get_face_chip(rgb, shape, size=size, padding=padding) / 255.0
    ours = face_chips(rgb, [_face(shape)], size, padding)[0].permute(1, 2, 0).double().numpy()
    difference = np.abs(ours - reference)
    return float(difference.mean()), float(difference.max())


def _load_rgb(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def _pixel_count(path: Path) -> int:
    with Image.open(path) as image:  # reads the header only
        return image.width * image.height


def _astronaut() -> np.ndarray:
    from skimage.data import astronaut

    return astronaut()


def _grace_hopper() -> np.ndarray:
    from matplotlib import cbook

    with cbook.get_sample_data("grace_hopper.jpg") as file:
        return np.asarray(Image.open(file).convert("RGB"))


def _resized(rgb: np.ndarray, factor: float) -> np.ndarray:
    height, width = rgb.shape[:2]
    size = (round(width * factor), round(height * factor))
    return np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BICUBIC))


def _rotated(rgb: np.ndarray, degrees: float) -> np.ndarray:
    return np.asarray(Image.fromarray(rgb).rotate(degrees, Image.Resampling.BICUBIC))


def _dlib_corners(details) -> np.ndarray:
    """``details.rect``'s corners (tl, tr, bl, br) rotated by ``details.angle`` about its centre."""
    rect = details.rect
    centre = np.array([(rect.left() + rect.right()) / 2, (rect.top() + rect.bottom()) / 2])
    cos, sin = math.cos(details.angle), math.sin(details.angle)
    rotation = np.array([[cos, -sin], [sin, cos]])
    corners = np.array(
        [
            [rect.left(), rect.top()],
            [rect.right(), rect.top()],
            [rect.left(), rect.bottom()],
            [rect.right(), rect.bottom()],
        ]
    )
    return (corners - centre) @ rotation.T + centre


def _chip_corners(transform: np.ndarray, size: int) -> np.ndarray:
    last = size - 1
    corners = np.array([[0, 0], [last, 0], [0, last], [last, last]], dtype=np.float64)
    return corners @ transform[:, :2].T + transform[:, 2]


def _check_and_report(name: str, differences: list[tuple[str, float, float]]) -> None:
    assert differences, f"no face found in {name}"
    means = np.array([mean for _, mean, _ in differences])
    maxima = np.array([largest for _, _, largest in differences])
    logger.info(
        "%s: %d faces, mean |ours - dlib| = %.3f/255 (worst face %.3f/255), max pixel %.2f/255",
        name,
        len(differences),
        means.mean() * 255,
        means.max() * 255,
        maxima.max() * 255,
    )
    worst = max(differences, key=lambda item: item[1])
    assert means.max() < MEAN_TOLERANCE, f"{name}: worst face {worst}"
    worst = max(differences, key=lambda item: item[2])
    assert maxima.max() < MAX_TOLERANCE, f"{name}: worst pixel {worst}"


# ------------------------------------------------------------------ always-available faces


@dataclass(frozen=True)
class Photo:
    rgb: np.ndarray
    shapes: list  # dlib.full_object_detection, detected once per photo

    @property
    def largest(self):
        return max(self.shapes, key=lambda shape: shape.rect.area())

    @property
    def height_width(self) -> tuple[int, int]:
        return self.rgb.shape[0], self.rgb.shape[1]


def _photo(rgb: np.ndarray) -> Photo:
    rgb = np.ascontiguousarray(rgb)
    # Upsampling finds the small faces; large photos have large faces and upsampling is slow.
    return Photo(rgb, _shapes(rgb, upsample=1 if max(rgb.shape[:2]) <= 1024 else 0))


PUBLIC_PHOTOS = [
    "astronaut",
    "grace_hopper",
    # Faces several times bigger than the chip exercise dlib's image pyramid (2 levels).
    "astronaut_x5",
    "grace_hopper_x4",
    # Tilted faces exercise the rotation.
    "astronaut_rotated",
    "grace_hopper_rotated_x3",
]


@pytest.fixture(scope="module")
def public() -> dict[str, Photo]:
    astronaut, hopper = _astronaut(), _grace_hopper()
    return {
        "astronaut": _photo(astronaut),
        "grace_hopper": _photo(hopper),
        "astronaut_x5": _photo(_resized(astronaut, 5.0)),
        "grace_hopper_x4": _photo(_resized(hopper, 4.0)),
        "astronaut_rotated": _photo(_rotated(astronaut, 25.0)),
        "grace_hopper_rotated_x3": _photo(_resized(_rotated(hopper, -20.0), 3.0)),
    }


@pytest.mark.parametrize("name", PUBLIC_PHOTOS)
def test_chips_match_dlib_on_public_photos(public: dict[str, Photo], name: str) -> None:
    photo = public[name]
    differences = [(name, *_chip_differences(photo.rgb, shape)) for shape in photo.shapes]
    _check_and_report(name, differences)


def test_large_faces_use_the_pyramid(public: dict[str, Photo]) -> None:
    for name in ("astronaut_x5", "grace_hopper_x4", "grace_hopper_rotated_x3"):
        photo = public[name]
        transform = chip_transform(_landmarks(photo.largest))
        assert plan_chip(transform, SIZE, *photo.height_width).levels >= 2, name


@pytest.mark.parametrize(("size", "padding"), [(200, 0.4), (112, 0.0), (151, 0.25)])
def test_other_sizes_and_paddings_match_dlib(
    public: dict[str, Photo], size: int, padding: float
) -> None:
    photo = public["astronaut"]
    reference = dlib.get_face_chip(photo.rgb, photo.largest, size=size, padding=padding) / 255.0
    chips = face_chips(photo.rgb, [_face(photo.largest)], size, padding)
    ours = chips[0].permute(1, 2, 0).double().numpy()
    assert ours.shape == reference.shape
    assert np.abs(ours - reference).mean() < MEAN_TOLERANCE


@pytest.mark.parametrize("side", ["left", "top", "right"])
def test_faces_cut_by_the_photo_border_match_dlib(public: dict[str, Photo], side: str) -> None:
    """Where the chip reaches past the photo, dlib writes black, and so must we."""
    photo = public["astronaut_x5"]
    nose_x, nose_y = (int(v) for v in _landmarks(photo.largest)[4])
    left = nose_x - 200 if side == "left" else 0
    top = nose_y - 150 if side == "top" else 0
    right = nose_x + 250 if side == "right" else photo.rgb.shape[1]
    cropped = np.ascontiguousarray(photo.rgb[top:, left:right])
    points = [dlib.point(p.x - left, p.y - top) for p in photo.largest.parts()]
    moved = dlib.full_object_detection(dlib.rectangle(0, 0, 1, 1), points)
    reference = dlib.get_face_chip(cropped, moved, size=SIZE, padding=PADDING)
    assert (reference == 0).all(axis=2).mean() > 0.05, "the chip should reach past the border"
    mean, largest = _chip_differences(cropped, moved)
    assert mean < MEAN_TOLERANCE
    assert largest < MAX_TOLERANCE


# ------------------------------------------------------------------ geometry


def test_chip_transform_agrees_with_dlib_chip_details(public: dict[str, Photo]) -> None:
    for name, photo in public.items():
        for shape in photo.shapes:
            for size, padding in [(SIZE, PADDING), (200, 0.1), (151, 0.5)]:
                details = dlib.get_face_chip_details(shape, size, padding)
                assert (details.rows, details.cols) == (size, size)
                transform = chip_transform(_landmarks(shape), size, padding)
                error = np.abs(_chip_corners(transform, size) - _dlib_corners(details)).max()
                assert error < 1e-6, f"{name}: corners differ by {error} px"


def test_chip_transform_is_a_rotation_and_scale() -> None:
    landmarks = np.array([[80, 40], [60, 42], [20, 40], [40, 42], [50, 70.0]])
    linear = chip_transform(landmarks)[:, :2]
    assert linear[0, 0] == pytest.approx(linear[1, 1])
    assert linear[0, 1] == pytest.approx(-linear[1, 0])


def test_pyramid_down_matches_dlib() -> None:
    """Ours is exact; dlib rounds each pixel down to an integer."""
    rgb = np.random.default_rng(0).integers(0, 256, size=(41, 38, 3), dtype=np.uint8)
    reference = dlib.pyramid_down(2)(rgb).astype(np.float64)
    ours = pyramid_down(to_tensor(rgb)[None].double())[0].permute(1, 2, 0).numpy() * 255
    assert ours.shape == reference.shape == ((41 - 3) // 2, (38 - 3) // 2, 3)
    assert ((ours - reference) > -1e-9).all()
    assert ((ours - reference) < 1).all()


# ------------------------------------------------------------------ gradients


def _gradient_of_chip(photo: Photo) -> tuple[torch.Tensor, np.ndarray, int]:
    """The gradient of a weighted sum of the largest face's chip w.r.t. the whole photo."""
    transform = chip_transform(_landmarks(photo.largest))
    image = to_tensor(photo.rgb).requires_grad_(True)
    chips = extract_chips(image, transform[None])
    weights = torch.rand(chips.shape, generator=torch.Generator().manual_seed(0)) + 0.5
    (chips * weights).sum().backward()
    assert image.grad is not None
    plan = plan_chip(transform, SIZE, *photo.height_width)
    return image.grad, _chip_corners(transform, SIZE), plan.levels


def _assert_gradient_hugs_the_chip(grad: torch.Tensor, corners: np.ndarray, levels: int) -> None:
    assert torch.isfinite(grad).all()
    touched = (grad.abs().sum(dim=0) > 0).numpy()
    assert touched.any()
    rows, cols = np.nonzero(touched)
    # Each pyramid level's filter and the bilinear taps spread a chip pixel over a few photo
    # pixels beyond the chip's outline; nothing further away may receive a gradient...
    spread = 2.0 ** (levels + 2)
    low, high = corners.min(axis=0), corners.max(axis=0)
    assert cols.min() >= low[0] - spread and cols.max() <= high[0] + spread
    assert rows.min() >= low[1] - spread and rows.max() <= high[1] + spread
    # ...and all of the chip's outline is covered.
    assert cols.min() <= low[0] + spread and cols.max() >= high[0] - spread
    assert rows.min() <= low[1] + spread and rows.max() >= high[1] - spread


@pytest.mark.parametrize("name", ["astronaut", "astronaut_x5", "grace_hopper_rotated_x3"])
def test_gradients_reach_only_the_pixels_near_the_face(public: dict[str, Photo], name: str) -> None:
    _assert_gradient_hugs_the_chip(*_gradient_of_chip(public[name]))


def test_gradients_match_finite_differences() -> None:
    generator = torch.Generator().manual_seed(1)
    image = torch.rand(3, 56, 56, dtype=torch.float64, generator=generator)
    # A 12-pixel chip, tilted and 2.5 times smaller than its region (one pyramid level).
    angle = 0.3
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    transform = np.column_stack([2.5 * rotation, [16.0, 6.0]])[None]
    assert plan_chip(transform[0], 12, 56, 56).levels == 1
    image.requires_grad_(True)

    def chips(photo: torch.Tensor) -> torch.Tensor:
        return extract_chips(photo, transform, 12)

    assert torch.autograd.gradcheck(chips, (image,), fast_mode=True)


# ------------------------------------------------------------------ shapes and batching


def test_output_shape_and_dtype(public: dict[str, Photo]) -> None:
    photo = public["astronaut"]
    faces = [_face(shape) for shape in photo.shapes]
    image = to_tensor(photo.rgb)
    assert image.shape == (3, *photo.height_width) and image.dtype == torch.float32
    chips = face_chips(image, faces)
    assert chips.shape == (len(faces), 3, SIZE, SIZE) and chips.dtype == torch.float32
    assert face_chips(image[None], faces).shape == chips.shape
    assert face_chips(image.double(), faces).dtype == torch.float64
    assert face_chips(image, [], 112).shape == (0, 3, 112, 112)
    assert to_uint8(chips).shape == (len(faces), SIZE, SIZE, 3)


def test_a_batch_of_faces_equals_single_faces(public: dict[str, Photo]) -> None:
    side_by_side = np.concatenate(
        [public["astronaut"].rgb, public["grace_hopper"].rgb[:512]], axis=1
    )
    photo = _photo(side_by_side)
    faces = [_face(shape) for shape in photo.shapes]
    assert len(faces) >= 2
    image = to_tensor(photo.rgb)
    batch = face_chips(image, faces)
    singles = torch.cat([face_chips(image, [face]) for face in faces])
    assert torch.equal(batch, singles)


def test_chips_of_the_region_equal_chips_of_the_photo(public: dict[str, Photo]) -> None:
    photo = public["grace_hopper_x4"]
    transforms = np.stack([chip_transform(_landmarks(shape)) for shape in photo.shapes])
    x0, y0, x1, y1 = chips_region(transforms, SIZE, *photo.height_width)
    moved = transforms.copy()
    moved[:, :, 2] -= (x0, y0)
    image = to_tensor(photo.rgb)
    whole = extract_chips(image, transforms)
    region = extract_chips(image[:, y0:y1, x0:x1], moved)
    assert torch.equal(whole, region)


def test_faces_without_landmarks_are_refused() -> None:
    with pytest.raises(ValueError, match="landmarks"):
        face_chips(torch.zeros(3, 50, 50), [Face(box=(0, 0, 10, 10), score=1.0)])
    with pytest.raises(ValueError, match=r"\(5, 2\)"):
        chip_transform(np.zeros((68, 2)))
    with pytest.raises(TypeError, match="float"):
        extract_chips(torch.zeros(3, 50, 50, dtype=torch.uint8), np.zeros((1, 2, 3)))


# ------------------------------------------------------------------ real photos (shared folder)


def _faces_dir() -> Path:
    folder = shared_faces_dir()
    if folder is None:
        pytest.skip("the shared faces folder is absent ($FACECLOAK_SHARED/data/faces)")
    return folder


def _labelled_paths(folder: Path) -> list[Path]:
    with open(folder / "labels.csv", newline="") as file:
        return [folder / row["path"] for row in csv.DictReader(file)]


def _differences_on(paths: list[Path], upsample: int) -> list[tuple[str, float, float]]:
    differences = []
    for path in paths:
        rgb = _load_rgb(path)
        for shape in _shapes(rgb, upsample):
            differences.append((path.name, *_chip_differences(rgb, shape)))
    return differences


def test_chips_match_dlib_on_lfw() -> None:
    paths = _labelled_paths(_faces_dir() / "lfw")
    # Every 60th photo (about 75): the crops are all alike, 250x250 with the face in the middle.
    _check_and_report("lfw", _differences_on(paths[::60], upsample=1))


@pytest.mark.slow
def test_chips_match_dlib_on_large_deepface_photos() -> None:
    paths = _labelled_paths(_faces_dir() / "deepface")
    differences = _differences_on(paths, upsample=0)
    assert len(differences) >= 50
    _check_and_report("deepface", differences)


@pytest.mark.slow
def test_chips_match_dlib_on_group_photos() -> None:
    paths = sorted((_faces_dir() / "group_photos").glob("*.jpg"))
    differences = _differences_on(paths, upsample=1)
    assert len(differences) >= 10
    _check_and_report("group_photos", differences)


def test_gradients_on_a_large_real_photo() -> None:
    paths = _labelled_paths(_faces_dir() / "deepface")
    largest = max(paths[:20], key=_pixel_count)
    grad, corners, levels = _gradient_of_chip(_photo(_load_rgb(largest)))
    assert levels >= 2, "expected a face much bigger than the chip"
    _assert_gradient_hugs_the_chip(grad, corners, levels)
