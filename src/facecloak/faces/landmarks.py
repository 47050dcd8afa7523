"""dlib's 5-point shape predictor: the landmarks the recognizer's alignment is defined on."""

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
