"""dlib's shape predictors: the 5 points the recognizer's alignment is defined on, and the 68
points (outline, brows, eyes, nose, lips) that face swapping and the pose measures use."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from facecloak.paths import dlib_model_path


@lru_cache(maxsize=1)
def _shape_predictor():
    import dlib

    return dlib.shape_predictor(str(dlib_model_path("shape_predictor_5")))


def predict_landmarks(rgb: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """Five ``(x, y)`` points for the face in ``box`` (dlib's order, see :class:`Face`).

    Example:
        >>> from skimage.data import astronaut
        >>> predict_landmarks(astronaut(), (175, 76, 266, 167)).shape
        (5, 2)
    """
    import dlib

    x0, y0, x1, y1 = (round(v) for v in box)
    # dlib rectangles are inclusive of their right/bottom pixel.
    shape = _shape_predictor()(rgb, dlib.rectangle(x0, y0, x1 - 1, y1 - 1))
    return np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float64)


@lru_cache(maxsize=1)
def _shape_predictor_68():
    import dlib

    return dlib.shape_predictor(str(dlib_model_path("shape_predictor_68")))


def predict_landmarks_68(rgb: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """The 68 ``(x, y)`` points of dlib's iBUG 300-W predictor for the face in ``box`` (jaw 0-16,
    brows 17-26, nose 27-35, eyes 36-47, lips 48-67).

    Example:
        >>> from skimage.data import astronaut
        >>> predict_landmarks_68(astronaut(), (175, 76, 266, 167)).shape
        (68, 2)
    """
    import dlib

    x0, y0, x1, y1 = (round(v) for v in box)
    shape = _shape_predictor_68()(np.ascontiguousarray(rgb), dlib.rectangle(x0, y0, x1 - 1, y1 - 1))
    return np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float64)
