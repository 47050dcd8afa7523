"""Where a face chip lies in the photo: dlib's similarity from the 5 landmarks to its mean face.

NumPy only, so covering a face (blur, pixelate, mask) needs no torch; :mod:`facecloak.faces.align`
samples the chips themselves.
"""

from __future__ import annotations

import math

import numpy as np

DEFAULT_CHIP_SIZE = 150
DEFAULT_PADDING = 0.25

# dlib's mean face for the 5-point predictor, in the unit square of an unpadded chip, in the
# landmarks' order (right eye outer, right eye inner, left eye outer, left eye inner, nose base).
_MEAN_FACE_5 = np.array(
    [
        [0.8595674595992, 0.2134981538014],
        [0.6460604764104, 0.2289674387677],
        [0.1205750620789, 0.2137274526848],
        [0.3340850613712, 0.2290642403242],
        [0.4901123135679, 0.6277975316475],
    ]
)


def chip_transform(
    landmarks: np.ndarray, size: int = DEFAULT_CHIP_SIZE, padding: float = DEFAULT_PADDING
) -> np.ndarray:
    """The ``(2, 3)`` affine mapping chip pixels to photo pixels, as ``dlib.get_face_chip`` does.

    ``T @ (x, y, 1)`` is the photo point (``x`` = column, ``y`` = row, pixel centres on integers)
    sampled for chip pixel ``(x, y)``. It equals the mapping dlib derives from
    ``dlib.get_face_chip_details(shape, size, padding)``: chip pixels ``(0, 0)``,
    ``(size - 1, 0)``, ``(0, size - 1)``, ``(size - 1, size - 1)`` land on the corners of the
    details' ``rect`` rotated by ``angle`` about its centre.

    Args:
        landmarks: ``(5, 2)`` ``(x, y)`` points of dlib's 5-point shape predictor.
        size: chip width and height in pixels.
        padding: dlib's padding around the mean face, as a fraction of its size.

    Example:
        >>> eyes_and_nose = np.array([[80, 40], [60, 42], [20, 40], [40, 42], [50, 70.0]])
        >>> chip_transform(eyes_and_nose).shape
        (2, 3)
    """
    if size < 2:
        raise ValueError(f"chip size must be at least 2 pixels, got {size}")
    landmarks = np.asarray(landmarks, dtype=np.float64)
    if landmarks.shape != (5, 2):
        raise ValueError(
            f"expected (5, 2) landmarks from dlib's 5-point predictor, got {landmarks.shape}"
        )
    template = (padding + _MEAN_FACE_5) / (2 * padding + 1) * size
    linear, translation = fit_similarity(template, landmarks)
    scale = math.hypot(linear[0, 0], linear[1, 0])
    angle = math.atan2(linear[1, 0], linear[0, 0])
    centre = linear @ np.array([size / 2.0, size / 2.0]) + translation
    # dlib's rect spans size * scale - 1 photo pixels between its first and last chip pixels.
    step = (size * scale - 1.0) / (size - 1)
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    chip_to_photo = step * rotation
    offset = centre - chip_to_photo @ np.array([(size - 1) / 2.0, (size - 1) / 2.0])
    return np.column_stack([chip_to_photo, offset])


def fit_similarity(source: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares similarity ``target ~ A @ source + t`` (Umeyama), as dlib fits it."""
    source_mean, target_mean = source.mean(axis=0), target.mean(axis=0)
    source_centred, target_centred = source - source_mean, target - target_mean
    source_variance = float((source_centred**2).sum(axis=1).mean())
    covariance = target_centred.T @ source_centred / len(source)
    u, singular, vt = np.linalg.svd(covariance)
    signs = np.ones(2)
    determinant = np.linalg.det(covariance)
    if determinant < 0 or (determinant == 0 and np.linalg.det(u) * np.linalg.det(vt) < 0):
        signs[np.argmin(singular)] = -1.0  # a reflection fits better: keep a proper rotation
    rotation = u @ np.diag(signs) @ vt
    scale = float(singular @ signs) / source_variance if source_variance else 1.0
    linear = scale * rotation
    return linear, target_mean - linear @ source_mean
