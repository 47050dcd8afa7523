"""ArcFace-style 5-point alignment: a differentiable similarity warp onto the 112x112 template.

Recognizers trained on insightface's MS1M crops (MobileFaceNet, ArcFace) expect faces warped by
a similarity transform (rotation, uniform scale, translation) that puts the eye centres, nose
tip and mouth corners on :data:`ARCFACE_TEMPLATE`. This module finds those five points
(:func:`arcface_points`), fits the transform (:func:`similarity_transform`) and samples the
aligned face from the photo with PyTorch (:func:`warp_to_template`), so a loss on the aligned face
has gradients on the photo's own pixels.

Conventions: points are ``(x, y)`` = ``(column, row)`` with pixel centres on integers, in both
the photo and the aligned face (OpenCV's ``warpAffine`` convention, which insightface used to
make the training crops). Points are listed in image-left-to-right order: the eye on the image's
left (the person's right eye) first, as in the template (x = 38 before x = 73).
"""

from __future__ import annotations

import logging
import math

import numpy as np
import torch
import torch.nn.functional as F

from facecloak.faces.face import Face
from facecloak.faces.landmarks import predict_landmarks_68
from facecloak.images import as_rgb_array

logger = logging.getLogger(__name__)

ARCFACE_SIZE = 112

ARCFACE_TEMPLATE = np.array(
    [
        [38.2946, 51.6963],  # eye centre, image left
        [73.5318, 51.5014],  # eye centre, image right
        [56.0252, 71.7366],  # nose tip
        [41.5493, 92.3655],  # mouth corner, image left
        [70.7299, 92.2041],  # mouth corner, image right
    ]
)
"""Where the five points land in a 112x112 aligned face (insightface's ``arcface_dst``)."""

ANTIALIAS_MIN_SCALE = 1.0
"""Downsample the photo first when it has more than this many pixels per aligned-face pixel."""

# dlib's 68-point layout: each eye's 6 contour points, the nose tip, the mouth corners.
_DLIB68_EYE_IMAGE_LEFT = slice(36, 42)
_DLIB68_EYE_IMAGE_RIGHT = slice(42, 48)
_DLIB68_NOSE_TIP = 30
_DLIB68_MOUTH_IMAGE_LEFT = 48
_DLIB68_MOUTH_IMAGE_RIGHT = 54


def arcface_template(size: int = ARCFACE_SIZE) -> np.ndarray:
    """The template for a ``size`` x ``size`` aligned face, scaled from the 112x112 one.

    Scaling keeps the same face area in view: pixel edges (not centres) scale by ``size / 112``.

    >>> arcface_template(224)[0].round(2).tolist()
    [77.09, 103.89]
    """
    factor = size / ARCFACE_SIZE
    return (ARCFACE_TEMPLATE + 0.5) * factor - 0.5


def arcface_points(rgb: np.ndarray, face: Face) -> np.ndarray:
    """The five ArcFace points of ``face``: eye centres, nose tip, mouth corners, ``(5, 2)``.

    Uses the detector's own keypoints when it gave them (CenterFace), else dlib's 68-point
    shape predictor on the face box (eye centre = mean of the eye's six contour points, nose
    tip = point 30, mouth corners = points 48 and 54).

    Example:
        >>> from skimage.data import astronaut
        >>> from facecloak.models import detect
        >>> rgb = astronaut()
        >>> arcface_points(rgb, detect(rgb)[0]).shape
        (5, 2)
    """
    if face.detector_keypoints is not None:
        points = np.asarray(face.detector_keypoints, dtype=np.float64)
        if points.shape != (5, 2):
            raise ValueError(f"expected (5, 2) detector keypoints, got {points.shape}")
        return points.copy()
    return arcface_points_from_dlib68(rgb, face.box)


def arcface_points_from_dlib68(
    rgb: np.ndarray, box: tuple[float, float, float, float]
) -> np.ndarray:
    """The five ArcFace points from dlib's 68-point shape predictor run on ``box``.

    Example:
        >>> from skimage.data import astronaut
        >>> arcface_points_from_dlib68(astronaut(), (175, 76, 266, 167)).shape
        (5, 2)
    """
    parts = predict_landmarks_68(as_rgb_array(rgb), box)
    return np.stack(
        [
            parts[_DLIB68_EYE_IMAGE_LEFT].mean(axis=0),
            parts[_DLIB68_EYE_IMAGE_RIGHT].mean(axis=0),
            parts[_DLIB68_NOSE_TIP],
            parts[_DLIB68_MOUTH_IMAGE_LEFT],
            parts[_DLIB68_MOUTH_IMAGE_RIGHT],
        ]
    )


def similarity_transform(src_points: np.ndarray, dst_points: np.ndarray) -> np.ndarray:
    """Least-squares similarity (Umeyama, no reflection) from ``src_points`` to ``dst_points``.

    Returns the ``(2, 3)`` matrix ``M`` with ``dst ~= M @ (x, y, 1)`` for each source point
    (for the ArcFace alignment: detected points to :data:`ARCFACE_TEMPLATE`).

    Example:
        >>> src = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
        >>> (similarity_transform(src, 2 * src + 5).round(6) + 0.0).tolist()  # + 0.0: no -0.0
        [[2.0, 0.0, 5.0], [0.0, 2.0, 5.0]]
    """
    src = np.asarray(src_points, dtype=np.float64)
    dst = np.asarray(dst_points, dtype=np.float64)
    if src.ndim != 2 or src.shape[1] != 2 or src.shape != dst.shape or len(src) < 2:
        raise ValueError(
            f"expected two matching (N, 2) point arrays with N >= 2, got {src.shape}, {dst.shape}"
        )
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_centred, dst_centred = src - src_mean, dst - dst_mean
    src_variance = (src_centred**2).sum() / len(src)
    if src_variance < 1e-12:
        raise ValueError("the source points all coincide: no similarity transform fits them")
    covariance = dst_centred.T @ src_centred / len(src)
    u, singular, vt = np.linalg.svd(covariance)
    # Forbid reflections: a mirrored face is a different face to the recognizer.
    signs = np.array([1.0, -1.0 if np.linalg.det(u) * np.linalg.det(vt) < 0 else 1.0])
    rotation = u @ np.diag(signs) @ vt
    scale = (singular * signs).sum() / src_variance
    translation = dst_mean - scale * rotation @ src_mean
    return np.hstack([scale * rotation, translation[:, None]])


def invert_affine(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a ``(2, 3)`` affine transform.

    >>> invert_affine(np.array([[2.0, 0, 4], [0, 2, 6]])).tolist()
    [[0.5, 0.0, -2.0], [0.0, 0.5, -3.0]]
    """
    linear_inverse = np.linalg.inv(matrix[:, :2])
    return np.hstack([linear_inverse, -linear_inverse @ matrix[:, 2:]])


def warp_to_template(
    image: torch.Tensor,
    points: np.ndarray | torch.Tensor,
    size: int = ARCFACE_SIZE,
    antialias: bool = True,
) -> torch.Tensor:
    """The aligned ``(1, 3, size, size)`` face: ``points`` warped onto the ArcFace template.

    Differentiable with respect to ``image`` (the points are treated as constants). Only the
    region the face needs is read; when the face is larger than ``size`` the region is first
    shrunk with an anti-aliasing filter (so every photo pixel of the face contributes and the
    result does not alias), then sampled bilinearly. Samples outside the photo are black.

    Args:
        image: ``(3, H, W)`` or ``(1, 3, H, W)`` float RGB (any range; [0, 1] for the models).
        points: ``(5, 2)`` ``(x, y)`` photo points in the order of :func:`arcface_points`.
        size: side of the aligned face; the template is scaled for sizes other than 112.
        antialias: filter large faces before sampling (turn off only to mimic plain
            ``cv2.warpAffine`` crops).

    Example:
        >>> from skimage.data import astronaut
        >>> from facecloak.models import detect
        >>> rgb = astronaut()
        >>> from facecloak.imaging import to_tensor
        >>> photo = to_tensor(rgb).requires_grad_()
        >>> aligned = warp_to_template(photo, arcface_points(rgb, detect(rgb)[0]))
        >>> aligned.shape
        torch.Size([1, 3, 112, 112])
    """
    batch = _as_single_image_batch(image)
    points = np.asarray(
        points.detach().cpu().numpy() if isinstance(points, torch.Tensor) else points,
        dtype=np.float64,
    )
    if points.shape != (5, 2):
        raise ValueError(f"expected (5, 2) points, got {points.shape}")
    chip_to_photo = invert_affine(similarity_transform(points, arcface_template(size)))
    return sample_chip(batch, chip_to_photo, size, antialias=antialias)


def sample_chip(
    batch: torch.Tensor,
    chip_to_photo: np.ndarray,
    size: int | tuple[int, int],
    antialias: bool = True,
) -> torch.Tensor:
    """Sample a ``size`` x ``size`` chip whose pixel ``(x, y)`` is photo point ``A @ (x, y, 1)``.

    ``batch`` is ``(1, C, H, W)``; ``chip_to_photo`` (``A``) is a ``(2, 3)`` affine transform
    with no shear (a similarity). ``size`` may be a ``(height, width)`` pair for a rectangular
    chip. See :func:`warp_to_template`.

    >>> photo = torch.arange(16.0).view(1, 1, 4, 4)
    >>> sample_chip(photo, np.array([[1.0, 0, 1], [0, 1, 1]]), 2).flatten().tolist()
    [5.0, 6.0, 9.0, 10.0]
    """
    height, width = batch.shape[-2:]
    size = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    scale = math.sqrt(abs(np.linalg.det(chip_to_photo[:, :2])))  # photo pixels per chip pixel
    x0, y0, x1, y1 = _crop_box(chip_to_photo, size, scale, width, height)
    if x1 <= x0 or y1 <= y0:
        logger.warning("the aligned face lies entirely outside the photo: returning black")
        # Still attached to the photo (with a zero gradient), so callers can backpropagate.
        return batch.new_zeros(1, batch.shape[1], *size) + 0.0 * batch[..., :1, :1]
    crop = batch[..., y0:y1, x0:x1]
    chip_to_crop = chip_to_photo - np.array([[0.0, 0.0, x0], [0.0, 0.0, y0]])
    if antialias and scale > ANTIALIAS_MIN_SCALE:
        crop, chip_to_crop = _shrink(crop, chip_to_crop, scale)
    grid = _sampling_grid(chip_to_crop, size, crop.shape[-1], crop.shape[-2], crop)
    return F.grid_sample(crop, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def _as_single_image_batch(image: torch.Tensor) -> torch.Tensor:
    if not isinstance(image, torch.Tensor) or not image.is_floating_point():
        raise ValueError("expected a float image tensor (3, H, W) or (1, 3, H, W)")
    if image.ndim == 3:
        image = image.unsqueeze(0)
    if image.ndim != 4 or image.shape[0] != 1 or image.shape[1] != 3:
        raise ValueError(f"expected an image of shape (3, H, W) or (1, 3, H, W), got {image.shape}")
    return image


def _crop_box(
    chip_to_photo: np.ndarray, size: tuple[int, int], scale: float, width: int, height: int
) -> tuple[int, int, int, int]:
    """Half-open ``(x0, y0, x1, y1)`` photo box holding the chip's footprint and filter margin."""
    rows, cols = size
    right, bottom = cols - 0.5, rows - 0.5
    edges = np.array([[-0.5, -0.5], [right, -0.5], [-0.5, bottom], [right, bottom]])
    corners = edges @ chip_to_photo[:, :2].T + chip_to_photo[:, 2]
    # The anti-aliasing filter reaches ~scale photo pixels beyond a sample; bilinear one more.
    margin = 2.0 * max(scale, 1.0) + 2.0
    x0 = max(math.floor(corners[:, 0].min() - margin), 0)
    y0 = max(math.floor(corners[:, 1].min() - margin), 0)
    x1 = min(math.ceil(corners[:, 0].max() + margin) + 1, width)
    y1 = min(math.ceil(corners[:, 1].max() + margin) + 1, height)
    return x0, y0, x1, y1


def _shrink(
    crop: torch.Tensor, chip_to_crop: np.ndarray, scale: float
) -> tuple[torch.Tensor, np.ndarray]:
    """Resize the crop by ``1 / scale`` with an anti-aliasing filter; update the transform."""
    height, width = crop.shape[-2:]
    out_height, out_width = max(round(height / scale), 1), max(round(width / scale), 1)
    small = F.interpolate(
        crop, size=(out_height, out_width), mode="bilinear", align_corners=False, antialias=True
    )
    # interpolate maps input point p to output point (p + 0.5) * ratio - 0.5, per axis.
    ratio = np.array([out_width / width, out_height / height])
    chip_to_small = chip_to_crop * ratio[:, None]
    chip_to_small[:, 2] += 0.5 * ratio - 0.5
    return small, chip_to_small


def _sampling_grid(
    chip_to_crop: np.ndarray, size: tuple[int, int], width: int, height: int, like: torch.Tensor
) -> torch.Tensor:
    """``grid_sample`` grid (``align_corners=False`` normalisation) for chip pixels 0..size-1."""
    # Normalised coordinate of crop point u is (2u + 1) / width - 1: fold it into the affine.
    to_normalised = np.array(
        [[2.0 / width, 0.0, 1.0 / width - 1.0], [0.0, 2.0 / height, 1.0 / height - 1.0]]
    )
    affine = to_normalised[:, :2] @ chip_to_crop
    affine[:, 2] += to_normalised[:, 2]
    ys, xs = torch.meshgrid(
        torch.arange(size[0], dtype=torch.float64),
        torch.arange(size[1], dtype=torch.float64),
        indexing="ij",
    )
    pixels = torch.stack([xs, ys, torch.ones_like(xs)], dim=-1)  # (size, size, 3)
    grid = pixels @ torch.from_numpy(affine).T
    return grid.to(dtype=like.dtype, device=like.device).unsqueeze(0)
