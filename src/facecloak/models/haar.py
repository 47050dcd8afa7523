"""OpenCV's Viola-Jones frontal-face Haar cascade (needs an OpenCV that still ships
``CascadeClassifier`` and its XML files: OpenCV 4; OpenCV 5 moved them out of the main
package)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from facecloak.errors import ModelNotFoundError
from facecloak.faces.face import Face
from facecloak.models.detector import FaceDetector, register_detector

HAAR_CASCADE_FILE = "haarcascade_frontalface_default.xml"


@register_detector
class HaarDetector(FaceDetector):
    """OpenCV's Viola-Jones frontal-face Haar cascade on the grey image; no keypoints.

    The score is the cascade's last-stage level weight (how far the window cleared it). Slow and
    frontal-only; it is here as the classic baseline.
    """

    name = "haar"
    max_megapixels = 1.0

    def __init__(
        self, scale_factor: float = 1.1, min_neighbors: int = 5, min_size: int = 24
    ) -> None:
        self.scale_factor = scale_factor
        self.min_neighbors = min_neighbors
        self.min_size = min_size

    def _detect(self, rgb: np.ndarray) -> list[Face]:
        import cv2

        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if rgb.ndim == 3 else rgb
        rects, _, weights = haar_cascade().detectMultiScale3(
            grey,
            scaleFactor=self.scale_factor,
            minNeighbors=self.min_neighbors,
            minSize=(self.min_size, self.min_size),
            outputRejectLevels=True,
        )
        return [
            Face((float(x), float(y), float(x + w), float(y + h)), float(score), detector=self.name)
            for (x, y, w, h), score in zip(rects, np.ravel(weights), strict=True)
        ]


@lru_cache(maxsize=1)
def haar_cascade():
    """OpenCV's frontal-face cascade, from the XML files its wheel ships in ``cv2.data``."""
    import cv2

    data = getattr(cv2, "data", None)
    folder = getattr(data, "haarcascades", None)
    if not hasattr(cv2, "CascadeClassifier") or folder is None:
        raise ModelNotFoundError(
            f"OpenCV {cv2.__version__} has no Haar cascades (OpenCV 5 moved CascadeClassifier "
            "and its XML files out of the main package): install OpenCV 4, e.g. "
            "`pip install 'opencv-python<5' 'opencv-python-headless<5'`"
        )
    path = folder + HAAR_CASCADE_FILE
    cascade = cv2.CascadeClassifier(path)
    if cascade.empty():
        raise ModelNotFoundError(
            f"{path} is missing or unreadable: reinstall OpenCV (`pip install --force-reinstall "
            "opencv-python`)"
        )
    return cascade
