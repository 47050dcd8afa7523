"""What the 68 landmarks say about a face: its size, pose and mouth, and how far two sets differ.

Points follow dlib's iBUG 300-W order (see :func:`facecloak.faces.landmarks.predict_landmarks_68`).

Example:
    >>> points = np.zeros((68, 2))
    >>> points[36], points[45] = (30, 50), (70, 50)
    >>> inter_ocular(points)
    40.0
"""

from __future__ import annotations

import numpy as np

JAW = slice(0, 17)
BROWS = slice(17, 27)
NOSE_TIP = 30
RIGHT_EYE_OUTER, LEFT_EYE_OUTER = 36, 45
EYES = slice(36, 48)
OUTER_LIPS = slice(48, 60)
INNER_LIPS = slice(60, 68)
INNER_LIP_TOP, INNER_LIP_BOTTOM = (61, 62, 63), (67, 66, 65)


def inter_ocular(points: np.ndarray) -> float:
    """Distance between the outer eye corners (the 300-W normaliser), at least 1 pixel."""
    return max(1.0, float(np.linalg.norm(points[LEFT_EYE_OUTER] - points[RIGHT_EYE_OUTER])))


def landmark_error(reference: np.ndarray, other: np.ndarray) -> float:
    """Mean point-to-point distance between two sets of 68 points, in inter-ocular distances of
    ``reference`` (0: the same pose and expression; 0.08 is a visible shift).

    Example:
        >>> points = np.random.default_rng(0).uniform(0, 100, (68, 2))
        >>> landmark_error(points, points)
        0.0
    """
    distances = np.linalg.norm(np.asarray(reference) - np.asarray(other), axis=1)
    return float(distances.mean() / inter_ocular(reference))


def yaw(points: np.ndarray) -> float:
    """Left-right head turn in [-1, 1] from where the nose tip sits between the jaw's ends
    (0: frontal; the sign says which way, as the photo shows it)."""
    left, right = points[0, 0], points[16, 0]
    span = right - left
    if abs(span) < 1e-6:
        return 0.0
    return float(np.clip(2.0 * (points[NOSE_TIP, 0] - left) / span - 1.0, -1.0, 1.0))


def mouth_opening(points: np.ndarray) -> float:
    """Gap between the inner lips, in inter-ocular distances (about 0 when closed)."""
    top = points[list(INNER_LIP_TOP)]
    bottom = points[list(INNER_LIP_BOTTOM)]
    gap = np.linalg.norm(bottom - top, axis=1).mean()
    return float(gap / inter_ocular(points))


def face_outline(points: np.ndarray, forehead: float = 0.0) -> np.ndarray:
    """The jaw from ear to ear, then the brows back (a closed polygon round the face); with
    ``forehead`` > 0 the brow points are raised by that share of the inter-ocular distance."""
    jaw = points[JAW]
    brows = points[BROWS][::-1].copy()
    if forehead:
        up = _up_vector(points)
        brows += forehead * inter_ocular(points) * up
    return np.concatenate([jaw, brows])


def _up_vector(points: np.ndarray) -> np.ndarray:
    """Unit vector from the chin towards the brows (the face's up, whatever its roll)."""
    direction = points[BROWS].mean(0) - points[8]
    norm = np.linalg.norm(direction)
    return direction / norm if norm > 0 else np.array([0.0, -1.0])
