"""MobileFaceNet in PyTorch equals its ONNX export and recognises real faces.

The weights live in the shared folder (research-only, never in the repository): every test that
needs them skips with a reason where they are absent.
"""

from __future__ import annotations

import csv
import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from facecloak.errors import ModelNotFoundError
from facecloak.faces.align_arcface import arcface_points, warp_to_template
from facecloak.faces.face import Face
from facecloak.images import load_image
from facecloak.models import detect
from facecloak.models.mobilefacenet import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    MobileFaceNet,
    MobileFaceNetFormatError,
    load_mobilefacenet,
)
from facecloak.paths import shared_model_path

logger = logging.getLogger(__name__)

ONNX_TOLERANCE = 1e-4  # max abs difference per embedding element (embeddings are ~1 in size)
BATCH_TOLERANCE = 1e-5
LFW_PAIRS_PER_KIND = 6
LFW_ONNX_PHOTOS = 12

OnnxEmbed = Callable[[torch.Tensor], np.ndarray]


def require_shared_model(filename: str) -> Path:
    path = shared_model_path("mobilefacenet", filename)
    if path is None:
        pytest.skip(
            f"MobileFaceNet {filename} absent: set FACECLOAK_SHARED or put shared/ beside the repo"
        )
    return path


@pytest.fixture(scope="module")
def model() -> MobileFaceNet:
    return load_mobilefacenet(require_shared_model("mobilefacenet.pt"))


@pytest.fixture(scope="module")
def onnx_embed() -> OnnxEmbed:
    import onnxruntime

    session = onnxruntime.InferenceSession(
        str(require_shared_model("MobileFaceNet.onnx")), providers=["CPUExecutionProvider"]
    )
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)

    def run(faces: torch.Tensor) -> np.ndarray:
        """The export takes one ImageNet-normalised face at a time."""
        normalised = ((faces - mean) / std).numpy()
        return np.concatenate([session.run(None, {"input0": face[None]})[0] for face in normalised])

    return run


def to_tensor(rgb: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(np.array(rgb)).permute(2, 0, 1).float().div(255)


def centre_face(rgb: np.ndarray) -> Face:
    faces = detect(rgb, detector="centerface", landmarks=False)
    assert faces, "CenterFace found no face"
    height, width = rgb.shape[:2]
    return min(
        faces,
        key=lambda f: (
            ((f.box[0] + f.box[2]) / 2 - width / 2) ** 2
            + ((f.box[1] + f.box[3]) / 2 - height / 2) ** 2
        ),
    )


def aligned(rgb: np.ndarray) -> torch.Tensor:
    """``(1, 3, 112, 112)``: the centre face warped onto the ArcFace template."""
    return warp_to_template(to_tensor(rgb), arcface_points(rgb, centre_face(rgb)))


@pytest.fixture(scope="module")
def public_faces(astronaut: np.ndarray, grace_hopper: np.ndarray) -> torch.Tensor:
    return torch.cat([aligned(astronaut), aligned(grace_hopper)])


def read_lfw_pairs(shared_faces: Path) -> list[tuple[Path, Path, bool]]:
    lfw = shared_faces / "lfw"
    with open(lfw / "pairs_devtest.csv") as handle:
        return [
            (lfw / row["path1"], lfw / row["path2"], row["same"] == "1")
            for row in csv.DictReader(handle)
        ]


def max_onnx_difference(model: MobileFaceNet, onnx_embed: OnnxEmbed, faces: torch.Tensor) -> float:
    with torch.no_grad():
        ours = model.raw(faces).numpy()
    return float(np.abs(ours - onnx_embed(faces)).max())


# --------------------------------------------------------------------------- equality with ONNX


def test_state_dict_layout_matches_the_weight_file() -> None:
    state = torch.load(require_shared_model("mobilefacenet.pt"), map_location="cpu")
    expected = MobileFaceNet().state_dict()
    assert len(state) == len(expected) == 307
    assert {k: tuple(v.shape) for k, v in state.items()} == {
        k: tuple(v.shape) for k, v in expected.items()
    }


def test_equals_onnx_on_real_aligned_faces(
    model: MobileFaceNet,
    onnx_embed: OnnxEmbed,
    public_faces: torch.Tensor,
) -> None:
    faces = torch.cat([public_faces, public_faces.flip(-1)])
    difference = max_onnx_difference(model, onnx_embed, faces)
    logger.info("public faces: max |torch - onnx| = %.2e", difference)
    assert difference < ONNX_TOLERANCE


def test_equals_onnx_on_lfw_faces(
    model: MobileFaceNet,
    onnx_embed: OnnxEmbed,
    shared_faces: Path,
) -> None:
    pairs = read_lfw_pairs(shared_faces)
    photos = [path for pair in pairs[:: len(pairs) // LFW_ONNX_PHOTOS] for path in pair[:2]]
    faces = torch.cat([aligned(load_image(path)) for path in photos[:LFW_ONNX_PHOTOS]])
    difference = max_onnx_difference(model, onnx_embed, faces)
    logger.info("%d LFW faces: max |torch - onnx| = %.2e", len(faces), difference)
    assert difference < ONNX_TOLERANCE


def test_equals_onnx_on_extreme_inputs(model: MobileFaceNet, onnx_embed: OnnxEmbed) -> None:
    """Saturated and noisy inputs push the ReLU6 clips: the two must still agree."""
    generator = torch.Generator().manual_seed(0)
    faces = torch.stack(
        [
            torch.rand(3, 112, 112, generator=generator),
            torch.zeros(3, 112, 112),
            torch.ones(3, 112, 112),
            torch.rand(3, 112, 112, generator=generator).round(),
        ]
    )
    assert max_onnx_difference(model, onnx_embed, faces) < ONNX_TOLERANCE


# --------------------------------------------------------------------------- behaviour


def test_batch_equals_one_face_at_a_time(model: MobileFaceNet, public_faces: torch.Tensor) -> None:
    faces = torch.cat([public_faces, public_faces.flip(-1), torch.rand(3, 3, 112, 112)])
    with torch.no_grad():
        batch = model.raw(faces)
        singles = torch.cat([model.raw(face[None]) for face in faces])
    assert batch.shape == (len(faces), 128)
    assert float((batch - singles).abs().max()) < BATCH_TOLERANCE


def test_gradients_reach_the_photo_pixels(model: MobileFaceNet, astronaut: np.ndarray) -> None:
    photo = to_tensor(astronaut).requires_grad_()
    points = arcface_points(astronaut, centre_face(astronaut))
    with torch.no_grad():
        clean = model(warp_to_template(photo, points))
    noisy = photo + 0.03 * torch.randn(photo.shape, generator=torch.Generator().manual_seed(0))
    distance = model.distance(model(warp_to_template(noisy, points)), clean)
    distance.sum().backward()
    gradient = photo.grad
    assert gradient is not None and bool(torch.isfinite(gradient).all())
    assert float(gradient.abs().max()) > 0
    # The face region (about 90x90 photo pixels for this 512x512 portrait) is what gets a gradient.
    assert 5_000 < int((gradient.abs().sum(0) > 0).sum()) < 60_000


def test_input_gradient_is_finite_and_nonzero(
    model: MobileFaceNet, public_faces: torch.Tensor
) -> None:
    faces = public_faces.clone().requires_grad_()
    model.raw(faces).square().sum().backward()
    assert faces.grad is not None and bool(torch.isfinite(faces.grad).all())
    assert float(faces.grad.abs().mean()) > 0
    assert not any(p.requires_grad for p in model.parameters()), "weights must stay frozen"
    assert not model.training


def test_normalized_embeddings_are_unit_length_and_mirror_invariant(
    model: MobileFaceNet, public_faces: torch.Tensor
) -> None:
    with torch.no_grad():
        embeddings = model(public_faces)
        mirrored = model(public_faces.flip(-1))
        plain = model(public_faces, flip=False)
        raw = model.raw(public_faces)
    torch.testing.assert_close(embeddings.norm(dim=1), torch.ones(2))
    torch.testing.assert_close(embeddings, mirrored, atol=1e-5, rtol=0)
    torch.testing.assert_close(plain, raw / raw.norm(dim=1, keepdim=True))


def test_distance_agrees_with_the_threshold(model: MobileFaceNet) -> None:
    a = torch.tensor([[3.0, 4.0]])
    assert float(model.distance(a, 2 * a)) == pytest.approx(0.0, abs=1e-6)
    assert float(model.distance(a, -a)) == pytest.approx(2.0)
    assert model.threshold == pytest.approx(0.72)
    assert (model.name, model.chip_size, model.metric) == ("mobilefacenet", (112, 112), "cosine")


def test_two_people_are_told_apart_and_dlib_fallback_keeps_identity(
    model: MobileFaceNet, astronaut: np.ndarray, grace_hopper: np.ndarray
) -> None:
    embeddings = {}
    for name, rgb in (("astronaut", astronaut), ("hopper", grace_hopper)):
        face = centre_face(rgb)
        fallback = dataclasses.replace(face, detector_keypoints=None)  # dlib 68-point path
        with torch.no_grad():
            for source, which in (("centerface", face), ("dlib68", fallback)):
                chip = warp_to_template(to_tensor(rgb), arcface_points(rgb, which))
                embeddings[name, source] = model(chip)
    for name in ("astronaut", "hopper"):
        same = model.distance(embeddings[name, "centerface"], embeddings[name, "dlib68"])
        logger.info("%s: CenterFace vs dlib-68 alignment, cosine distance %.3f", name, float(same))
        assert float(same) < model.threshold
    different = model.distance(
        embeddings["astronaut", "centerface"], embeddings["hopper", "centerface"]
    )
    assert float(different) > model.threshold


def test_lfw_same_person_pairs_are_closer_than_different_person_pairs(
    model: MobileFaceNet, shared_faces: Path
) -> None:
    pairs = read_lfw_pairs(shared_faces)
    chosen = [p for p in pairs if p[2]][:LFW_PAIRS_PER_KIND]
    chosen += [p for p in pairs if not p[2]][:LFW_PAIRS_PER_KIND]
    distances = {True: [], False: []}
    with torch.no_grad():
        for first, second, same in chosen:
            a, b = (model(aligned(load_image(p))) for p in (first, second))
            distances[same].append(float(model.distance(a, b)))
    logger.info("LFW cosine distances: same %s, different %s", distances[True], distances[False])
    assert max(distances[True]) < model.threshold < min(distances[False])


# --------------------------------------------------------------------------- loading errors


def test_missing_file_names_where_it_looked(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "mobilefacenet.pt"
    with pytest.raises(ModelNotFoundError, match="nowhere"):
        load_mobilefacenet(missing)


def test_missing_shared_folder_names_the_default_location(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FACECLOAK_SHARED", str(tmp_path))
    with pytest.raises(ModelNotFoundError) as caught:
        load_mobilefacenet()
    message = str(caught.value)
    assert str(tmp_path / "models" / "mobilefacenet" / "mobilefacenet.pt") in message
    assert "FACECLOAK_SHARED" in message


def test_wrong_file_is_reported_as_a_format_error(tmp_path: Path) -> None:
    wrong_layout = tmp_path / "other.pt"
    torch.save(
        {"conv1.0.weight": torch.zeros(8, 3, 3, 3), "head.weight": torch.zeros(2)}, wrong_layout
    )
    with pytest.raises(MobileFaceNetFormatError, match=r"missing.*unexpected: head\.weight"):
        load_mobilefacenet(wrong_layout)
    not_torch = tmp_path / "text.pt"
    not_torch.write_text("hello")
    with pytest.raises(MobileFaceNetFormatError, match="cannot read"):
        load_mobilefacenet(not_torch)


def test_rejects_inputs_that_are_not_aligned_faces() -> None:
    model = MobileFaceNet().eval()
    with pytest.raises(ValueError, match="112"):
        model(torch.rand(1, 3, 150, 150))
    with pytest.raises(ValueError, match="uint8"):
        model(torch.zeros(1, 3, 112, 112, dtype=torch.uint8))
