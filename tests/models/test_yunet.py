"""The PyTorch YuNet-n/-s equal their ONNX exports and OpenCV's ``FaceDetectorYN``, on real photos.

The weights live in the shared folder (research-only, never in the repository): every test that
needs them skips with a reason where they are absent.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from facecloak.errors import ModelNotFoundError
from facecloak.evaluate.detection import detection_metrics, read_box_labels
from facecloak.geometry import pairwise_iou
from facecloak.images import load_image
from facecloak.models.centerface import photo_to_tensor
from facecloak.models.yunet import (
    STRIDES,
    YuNet,
    detect_faces,
    face_scores,
    load_yunet,
    pad_to_multiple,
    preprocess,
)
from facecloak.paths import shared_model_path

logger = logging.getLogger(__name__)

FOLDER = "yunet"
VARIANTS = ("n", "s")
SHARED_PHOTOS = (
    "group_photos/selfie-many-people.jpg",
    "group_photos/two_people.jpg",
    "dlib_faces/2008_002470.jpg",
    "dlib_faces/dogs.jpg",
    "deepface/deepface_id01/img10.jpg",
    "lfw/AJ_Lamas/AJ_Lamas_0001.jpg",
)
# Largest |torch - onnxruntime| allowed per output. Measured on these photos: probabilities
# 1.8e-6, box and keypoint offsets (in cells, up to about 10) 7.4e-6.
TOLERANCES = {"cls": 2e-5, "obj": 2e-5, "bbox": 1e-4, "kps": 1e-4}
# On dlib's 43 labelled faces at the default threshold (0.7), YuNet-n found 43/43 at IoU 0.5 with
# 3 false positives (2 dog faces, 1 unlabelled blurred face); YuNet-s 42/43 with 2.
MIN_DLIB_RECALL = {"n": 0.95, "s": 0.9}
MAX_DLIB_FALSE_POSITIVES = 8
# Mean distance from dlib's 5 points (eye centres from the 68-point model, nose tip, mouth corners)
# over the inter-ocular distance, on the 43 faces: measured mean 0.126, worst 0.255 (YuNet-n).
MAX_MEAN_LANDMARK_ERROR = 0.2
MAX_LANDMARK_ERROR = 0.4


def require_shared_model(filename: str) -> Path:
    path = shared_model_path(FOLDER, filename)
    if path is None:
        pytest.skip(
            f"YuNet {filename} absent: set FACECLOAK_SHARED or put shared/ beside the repo "
            f"(models/{FOLDER}/)"
        )
    return path


@cache
def _net(variant: str) -> YuNet:
    return load_yunet(require_shared_model(f"yunet_{variant}.pth"), variant=variant)


@pytest.fixture(scope="module")
def net() -> YuNet:
    return _net("n")


@pytest.fixture(params=["astronaut", *SHARED_PHOTOS], ids=lambda p: Path(p).stem)
def photo(request: pytest.FixtureRequest, astronaut: np.ndarray) -> np.ndarray:
    if request.param == "astronaut":
        return astronaut
    faces_dir: Path = request.getfixturevalue("shared_faces")
    if not (faces_dir / request.param).is_file():
        pytest.skip(f"{request.param} is missing from the shared faces folder")
    return load_image(faces_dir / request.param)


@cache
def _onnx_session(variant: str):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(
        str(require_shared_model(f"yunet_{variant}_dynamic.onnx")),
        options,
        providers=["CPUExecutionProvider"],
    )


# --------------------------------------------------------------------------------------------------
# Equal to onnxruntime and to OpenCV's FaceDetectorYN
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS)
def test_outputs_equal_onnxruntime(variant: str, photo: np.ndarray) -> None:
    net, session = _net(variant), _onnx_session(variant)
    x = preprocess(photo_to_tensor(photo))
    with torch.no_grad():
        ours = net(x)
    names = [output.name for output in session.get_outputs()]
    reference = dict(zip(names, session.run(None, {"input": x.numpy()}), strict=True))
    for name, tolerance in TOLERANCES.items():
        for level, stride in enumerate(STRIDES):
            mine = getattr(ours, name)[level]
            if name in ("cls", "obj"):
                mine = torch.sigmoid(mine)  # the export ends in a sigmoid; we keep logits
            theirs = reference[f"{name}_{stride}"]
            assert mine.shape == theirs.shape
            diff = np.abs(mine.numpy() - theirs).max()
            logger.info("YuNet-%s %s_%d: max |torch - onnx| = %.2e", variant, name, stride, diff)
            assert diff < tolerance, f"{name}_{stride}: {diff:.2e} >= {tolerance}"


def test_detections_equal_opencv_face_detector_yn(net: YuNet, photo: np.ndarray) -> None:
    if not hasattr(cv2, "FaceDetectorYN"):
        pytest.skip(f"OpenCV {cv2.__version__} has no FaceDetectorYN")
    height, width = photo.shape[:2]
    threshold, nms_iou = 0.5, 0.3
    model = str(require_shared_model("yunet_n_dynamic.onnx"))
    try:
        opencv = cv2.FaceDetectorYN.create(model, "", (width, height), threshold, nms_iou)
        _, found = opencv.detect(np.ascontiguousarray(photo[:, :, ::-1]))  # OpenCV wants BGR
    except cv2.error as exc:  # OpenCV 4's DNN cannot read the dynamic-shape export
        pytest.skip(f"OpenCV {cv2.__version__} cannot run yunet_n_dynamic.onnx: {exc}")
    found = np.zeros((0, 15), dtype=np.float32) if found is None else found
    ours = detect_faces(net, photo, threshold=threshold, nms_iou=nms_iou)
    assert len(ours) == len(found)
    if not len(found):
        return
    order = np.argsort(-found[:, 14], kind="stable")
    found = found[order]
    boxes = np.concatenate([found[:, :2], found[:, :2] + found[:, 2:4]], axis=1)
    # OpenCV leaves boxes unclipped; we clip them to the photo.
    bounds = np.array([width, height, width, height], dtype=np.float32)
    boxes = np.minimum(np.maximum(boxes, 0), bounds)
    logger.info(
        "%d faces, max box diff %.2e px", len(found), np.abs(ours.boxes.numpy() - boxes).max()
    )
    np.testing.assert_allclose(ours.scores.numpy(), found[:, 14], atol=1e-4)
    np.testing.assert_allclose(ours.boxes.numpy(), boxes, atol=0.02)
    np.testing.assert_allclose(ours.landmarks.reshape(-1, 10).numpy(), found[:, 4:14], atol=0.02)


# --------------------------------------------------------------------------------------------------
# Differentiable scores and detection
# --------------------------------------------------------------------------------------------------


def test_face_scores_cover_every_cell(net: YuNet, astronaut: np.ndarray) -> None:
    photo = photo_to_tensor(astronaut[:300, :450])  # padded to 320x480
    candidates = face_scores(net, photo)
    cells = sum((320 // s) * (480 // s) for s in STRIDES)
    assert candidates.scores.shape == (1, cells)
    assert candidates.boxes.shape == (1, cells, 4)
    assert candidates.landmarks.shape == (1, cells, 5, 2)
    assert candidates.scores.min() >= 0 and candidates.scores.max() <= 1


def test_input_gradient_is_finite_and_nonzero(net: YuNet, astronaut: np.ndarray) -> None:
    photo = photo_to_tensor(astronaut[:500, :490]).requires_grad_(True)  # padding in the graph
    candidates = face_scores(net, photo)
    near_face = (candidates.centres[0] - torch.tensor([224.0, 118.0])).abs().amax(dim=1) < 60
    candidates.scores[0, near_face].sum().backward()  # what an evasion attack lowers
    grad = photo.grad
    assert grad is not None and grad.shape == photo.shape
    assert torch.isfinite(grad).all()
    assert grad.abs().max() > 0
    assert all(p.grad is None for p in net.parameters())


def test_scores_of_a_blank_photo_have_finite_gradients(net: YuNet) -> None:
    """Where cls and obj are both tiny, sqrt(cls * obj) would have an infinite gradient."""
    photo = torch.zeros(1, 3, 64, 64, requires_grad=True)
    face_scores(net, photo).scores.sum().backward()
    assert torch.isfinite(photo.grad).all()


def test_batch_equals_one_by_one(net: YuNet, astronaut: np.ndarray) -> None:
    photos = torch.cat([photo_to_tensor(astronaut), photo_to_tensor(astronaut[:, ::-1])])
    with torch.no_grad():
        together = face_scores(net, photos)
        alone = face_scores(net, photos[1:])
    torch.testing.assert_close(together.scores[1:], alone.scores, atol=1e-5, rtol=0)


def test_detect_faces_finds_the_astronaut(net: YuNet, astronaut: np.ndarray) -> None:
    faces = detect_faces(net, astronaut)
    assert len(faces) == 1
    x0, y0, x1, y1 = faces.boxes[0].tolist()
    assert 150 < x0 < x1 < 300 and 30 < y0 < y1 < 220
    assert faces.scores[0] > 0.9
    left_eye, right_eye = faces.landmarks[0, 0], faces.landmarks[0, 1]
    assert left_eye[0] < right_eye[0]  # image-left first


@pytest.mark.parametrize("variant", VARIANTS)
def test_recall_on_dlibs_labelled_faces(variant: str, shared_faces: Path) -> None:
    net = _net(variant)
    folder = shared_faces / "dlib_faces"
    truth = read_box_labels(folder / "boxes.csv")
    found = {}
    for image in [*truth, "dogs.jpg"]:
        faces = detect_faces(net, load_image(folder / image))
        found[image] = [
            (tuple(box), float(score))
            for box, score in zip(faces.boxes.tolist(), faces.scores, strict=True)
        ]
    metrics = detection_metrics(found, truth, iou_threshold=0.5)
    logger.info("YuNet-%s on dlib faces: %s", variant, metrics.to_dict())
    assert metrics.recall >= MIN_DLIB_RECALL[variant]
    assert metrics.false_positives <= MAX_DLIB_FALSE_POSITIVES


def dlib_five_points(folder: Path) -> list[tuple[str, torch.Tensor, np.ndarray]]:
    """``(image, box, (5, 2) points)`` per face of dlib's 68-point XML files, reduced to our 5:
    eye centres (mean of each eye's 6 points), nose tip (30), mouth corners (48, 54)."""
    faces = []
    for name in ("training_with_face_landmarks.xml", "testing_with_face_landmarks.xml"):
        for image in ET.parse(folder / name).getroot().iter("image"):
            for box in image.iter("box"):
                parts = {int(p.get("name")): (float(p.get("x")), float(p.get("y"))) for p in box}
                points = np.array([parts[i] for i in range(68)])
                five = [points[36:42].mean(0), points[42:48].mean(0), *points[[30, 48, 54]]]
                left, top, width, height = (
                    float(box.get(key)) for key in ("left", "top", "width", "height")
                )
                corners = [left, top, left + width, top + height]
                faces.append((image.get("file"), torch.tensor([corners]), np.stack(five)))
    return faces


def test_landmarks_are_near_dlibs(net: YuNet, shared_faces: Path) -> None:
    folder = shared_faces / "dlib_faces"
    errors, found = [], {}
    for image, box, points in dlib_five_points(folder):
        if image not in found:
            found[image] = detect_faces(net, load_image(folder / image), threshold=0.5)
        ious = pairwise_iou(box, found[image].boxes)[0]
        assert len(ious) and ious.max() > 0.3, f"no detection for a labelled face in {image}"
        ours = found[image].landmarks[int(ious.argmax())].numpy()
        inter_ocular = np.linalg.norm(points[0] - points[1])
        errors.append(np.linalg.norm(ours - points, axis=1).mean() / inter_ocular)
    logger.info("landmark error / inter-ocular: mean %.3f max %.3f", np.mean(errors), max(errors))
    assert np.mean(errors) < MAX_MEAN_LANDMARK_ERROR
    assert max(errors) < MAX_LANDMARK_ERROR


# --------------------------------------------------------------------------------------------------
# Shapes and errors
# --------------------------------------------------------------------------------------------------


def test_pad_to_multiple() -> None:
    x = torch.ones(1, 3, 33, 64)
    padded = pad_to_multiple(x)
    assert padded.shape == (1, 3, 64, 64)
    assert padded[..., 33:, :].abs().sum() == 0 and padded[..., :33, :].min() == 1


def test_forward_rejects_sizes_that_are_not_multiples_of_32() -> None:
    with pytest.raises(ValueError, match="multiples of 32"):
        YuNet()(torch.zeros(1, 3, 100, 128))


def test_unknown_variant_is_rejected() -> None:
    with pytest.raises(ValueError, match="variant"):
        YuNet("xl")  # type: ignore[arg-type]


def test_missing_weights_say_where_to_put_them(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match=r"yunet_s\.pth"):
        load_yunet(tmp_path / "absent.pth", variant="s")
