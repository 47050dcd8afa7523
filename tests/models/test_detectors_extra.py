"""The ``ultralight``, ``yunet``, ``retinaface`` and ``haar`` detectors behind ``get_detector``.

The first three read research-only weights from the shared folder (their tests skip where it is
absent); Haar needs an OpenCV that still ships its cascades (OpenCV 4: its tests skip on 5).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from facecloak.errors import ModelNotFoundError
from facecloak.evaluate.detection import detection_metrics, read_box_labels
from facecloak.geometry import box_iou
from facecloak.images import load_image
from facecloak.models.detector import clear_network_cache
from facecloak.models.detectors import DETECTORS, get_detector
from facecloak.models.haar import HaarDetector, haar_cascade
from facecloak.models.retinaface import RetinaFaceDetector
from facecloak.models.ultralight import UltraLightDetector
from facecloak.models.yunet import YuNetDetector
from facecloak.paths import shared_model_path

logger = logging.getLogger(__name__)

TORCH_PORTS = {
    "ultralight": ("ultralight", "version-RFB-320.pth"),
    "yunet": ("yunet", "yunet_n.pth"),
    "retinaface": ("retinaface", "mobilenet0.25_Final.pth"),
}
# Haar (scale 1.1, 5 neighbours) on dlib's 43 labelled faces: measured 36/43 at IoU 0.5 with 6
# false positives (2 on the dog photo).
HAAR_MIN_DLIB_RECALL = 0.75
HAAR_MAX_DLIB_FALSE_POSITIVES = 12


def require_weights(name: str) -> None:
    folder, filename = TORCH_PORTS[name]
    if shared_model_path(folder, filename) is None:
        pytest.skip(f"{name} weights absent: put shared/ beside the repo (models/{folder}/)")


def require_haar() -> None:
    try:
        haar_cascade()
    except ModelNotFoundError as exc:
        pytest.skip(f"Haar cascade unavailable: {exc}")


def _astronaut_box_is_right(box: tuple[float, ...]) -> bool:
    x0, y0, x1, y1 = box
    return 150 < x0 < x1 < 300 and 30 < y0 < y1 < 220


# --------------------------------------------------------------------------------------------------
# Registry and lazy loading (no weights needed)
# --------------------------------------------------------------------------------------------------


def test_new_detectors_are_registered() -> None:
    for name, cls in (
        ("ultralight", UltraLightDetector),
        ("yunet", YuNetDetector),
        ("retinaface", RetinaFaceDetector),
        ("haar", HaarDetector),
    ):
        assert DETECTORS[name] is cls
        assert isinstance(get_detector(name), cls)
        assert get_detector(name).name == name


@pytest.mark.parametrize("name", list(TORCH_PORTS))
def test_missing_weights_raise_only_when_used(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, astronaut: np.ndarray
) -> None:
    monkeypatch.setenv("FACECLOAK_SHARED", str(tmp_path))  # an empty shared folder
    clear_network_cache()
    try:
        detector = DETECTORS[name]()  # creating it loads nothing
        with pytest.raises(ModelNotFoundError, match=str(tmp_path)):
            detector(astronaut)
    finally:
        clear_network_cache()


def test_haar_without_cascades_says_how_to_get_them(monkeypatch: pytest.MonkeyPatch) -> None:
    import cv2

    monkeypatch.delattr(cv2, "CascadeClassifier", raising=False)
    haar_cascade.cache_clear()
    try:
        with pytest.raises(ModelNotFoundError, match="OpenCV 4"):
            HaarDetector()(np.zeros((64, 64, 3), dtype=np.uint8))
    finally:
        haar_cascade.cache_clear()


# --------------------------------------------------------------------------------------------------
# The torch ports
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(TORCH_PORTS))
def test_finds_the_astronaut(name: str, astronaut: np.ndarray) -> None:
    require_weights(name)
    faces = get_detector(name)(astronaut)
    assert len(faces) == 1
    face = faces[0]
    assert face.detector == name
    assert _astronaut_box_is_right(face.box)
    assert face.score > 0.9
    if name == "ultralight":
        assert face.detector_keypoints is None
    else:
        points = face.detector_keypoints
        assert points.shape == (5, 2) and points.dtype == np.float64
        x0, y0, x1, y1 = face.box
        assert (points[:, 0] > x0).all() and (points[:, 0] < x1).all()
        assert (points[:, 1] > y0).all() and (points[:, 1] < y1).all()


@pytest.mark.parametrize("name", list(TORCH_PORTS))
def test_large_photos_are_detected_at_working_size(name: str, astronaut: np.ndarray) -> None:
    require_weights(name)
    full = get_detector(name)(astronaut)
    detector = DETECTORS[name]()
    detector.max_megapixels = 0.1  # 512x512 is 0.26 MP: detect at about 316x316, map back
    small = detector(astronaut)
    assert len(full) == len(small) == 1
    assert box_iou(full[0].box, small[0].box) > 0.8
    if full[0].detector_keypoints is not None:
        shift = np.abs(full[0].detector_keypoints - small[0].detector_keypoints).max()
        assert shift < 0.1 * full[0].width


@pytest.mark.parametrize("name", list(TORCH_PORTS))
def test_thresholds_can_be_set(name: str, astronaut: np.ndarray) -> None:
    require_weights(name)
    assert DETECTORS[name](threshold=0.999999)(astronaut) == []
    assert len(DETECTORS[name](threshold=0.05, nms_iou=0.9)(astronaut)) >= 1


# --------------------------------------------------------------------------------------------------
# Haar
# --------------------------------------------------------------------------------------------------


def test_haar_finds_the_astronaut(astronaut: np.ndarray) -> None:
    require_haar()
    faces = get_detector("haar")(astronaut)
    assert len(faces) == 1
    assert _astronaut_box_is_right(faces[0].box)
    assert faces[0].detector == "haar" and faces[0].detector_keypoints is None
    assert faces[0].score > 0


def test_haar_finds_nothing_in_a_blank_photo() -> None:
    require_haar()
    assert get_detector("haar")(np.full((200, 300, 3), 128, dtype=np.uint8)) == []


def test_haar_recall_on_dlibs_labelled_faces(shared_faces: Path) -> None:
    require_haar()
    folder = shared_faces / "dlib_faces"
    truth = read_box_labels(folder / "boxes.csv")
    detector = get_detector("haar")
    found = {
        image: [(face.box, face.score) for face in detector(load_image(folder / image))]
        for image in [*truth, "dogs.jpg"]
    }
    metrics = detection_metrics(found, truth, iou_threshold=0.5)
    logger.info("Haar on dlib faces: %s", metrics.to_dict())
    assert metrics.recall >= HAAR_MIN_DLIB_RECALL
    assert metrics.false_positives <= HAAR_MAX_DLIB_FALSE_POSITIVES
