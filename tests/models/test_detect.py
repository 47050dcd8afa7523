from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from facecloak.errors import ModelNotFoundError
from facecloak.evaluate.detection import detection_metrics, read_box_labels
from facecloak.geometry import box_iou
from facecloak.images import load_image
from facecloak.models import DETECTORS, detect, largest_face

ASTRONAUT_FACE = (175, 76, 266, 167)  # dlib HOG's box, checked by eye


def _detect_or_skip(rgb: np.ndarray, detector: str) -> list:
    """Detect; skip when the detector's weights are absent (the shared models are optional)."""
    try:
        return detect(rgb, detector=detector)
    except ModelNotFoundError as exc:
        pytest.skip(f"{detector}: {exc}")


@pytest.mark.parametrize("detector", sorted(DETECTORS))
def test_each_detector_finds_the_astronaut(astronaut: np.ndarray, detector: str) -> None:
    faces = _detect_or_skip(astronaut, detector)
    best = max(faces, key=lambda face: box_iou(face.box, ASTRONAUT_FACE))
    assert box_iou(best.box, ASTRONAUT_FACE) > 0.5
    assert best.detector == detector
    x0, y0, x1, y1 = best.box
    assert best.landmarks is not None and best.landmarks.shape == (5, 2)
    assert np.all((best.landmarks[:, 0] > x0) & (best.landmarks[:, 0] < x1))
    assert np.all((best.landmarks[:, 1] > y0) & (best.landmarks[:, 1] < y1))


def test_a_face_found_twice_is_kept_once(monkeypatch: pytest.MonkeyPatch, astronaut) -> None:
    import sys

    from facecloak.faces import Face

    detect_module = sys.modules["facecloak.models.detect"]  # the package's `detect` is the function
    found = [Face((175, 76, 266, 167), 0.9), Face((200, 100, 290, 190), 0.6)]
    found.append(Face((20, 20, 60, 60), 0.7))
    monkeypatch.setattr(detect_module, "get_detector", lambda name: lambda rgb: list(found))
    faces = detect(astronaut)
    assert [face.score for face in faces] == [0.7, 0.9]


def test_grace_hopper_has_one_face(grace_hopper: np.ndarray) -> None:
    faces = detect(grace_hopper)
    assert len(faces) == 1
    assert faces[0].detector_keypoints is not None and faces[0].detector_keypoints.shape == (5, 2)


@pytest.mark.parametrize("detector", sorted(DETECTORS))
def test_no_face_in_a_plain_picture(detector: str) -> None:
    gradient = np.tile(np.linspace(0, 255, 320, dtype=np.uint8)[None, :, None], (240, 1, 3))
    assert _detect_or_skip(gradient, detector) == []


def test_faces_are_ordered_left_to_right_and_largest_is_found(astronaut: np.ndarray) -> None:
    face = astronaut[40:220, 140:300]
    small = np.asarray(Image.fromarray(face).resize((120, 135)))
    canvas = np.full((260, 500, 3), 128, dtype=np.uint8)
    canvas[20:200, 10:170] = face
    canvas[40:175, 330:450] = small
    faces = detect(canvas, detector="hog")
    assert len(faces) == 2
    assert faces[0].box[0] < faces[1].box[0]
    assert largest_face(faces) is faces[0]
    assert largest_face([]) is None


def test_large_photo_is_downscaled_and_boxes_mapped_back(astronaut: np.ndarray) -> None:
    big = np.asarray(Image.fromarray(astronaut).resize((3072, 3072), Image.Resampling.BICUBIC))
    faces = detect(big, detector="centerface", landmarks=False)
    scaled_truth = tuple(v * 6 for v in ASTRONAUT_FACE)
    assert max(box_iou(face.box, scaled_truth) for face in faces) > 0.5


def test_centerface_recall_on_hand_labelled_faces(shared_faces) -> None:
    folder = shared_faces / "dlib_faces"
    truth = read_box_labels(folder / "boxes.csv")
    found = {
        image: [(f.box, f.score) for f in detect(load_image(folder / image), landmarks=False)]
        for image in [*truth, "dogs.jpg"]
    }
    metrics = detection_metrics(found, truth, iou_threshold=0.5)
    assert metrics.recall >= 0.95 and metrics.precision >= 0.95


def test_centerface_runs_on_the_worker_share_of_the_cores(monkeypatch):
    """A worker process is given its threads in OMP_NUM_THREADS; onnxruntime would take every
    core otherwise, and two workers would fight over them."""
    from facecloak.models.centerface_detector import _centerface_session

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    _centerface_session.cache_clear()
    try:
        assert _centerface_session().get_session_options().intra_op_num_threads == 1
    finally:
        _centerface_session.cache_clear()
