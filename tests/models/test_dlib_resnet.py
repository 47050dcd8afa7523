"""The PyTorch port of dlib's face recognizer gives dlib's own descriptors, element by element."""

from __future__ import annotations

import csv
import dataclasses
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import dlib
import numpy as np
import pytest
import torch
from PIL import Image

from facecloak.models import load_recognizer
from facecloak.models.dlib_format import DlibFormatError, ReluLayer, read_dlib_network
from facecloak.models.dlib_resnet import DlibResNet, add_zero_padded
from facecloak.paths import dlib_model_path

logger = logging.getLogger(__name__)

TOLERANCE = 1e-3  # per descriptor element, against dlib's compute_face_descriptor
MIN_REAL_FACES = 20
LFW_IDENTITIES = 16
DEEPFACE_IDENTITIES = 8
DETECTION_MAX_SIDE = 640  # large photos are shrunk before detection, to keep the tests quick


@dataclass(frozen=True)
class DlibTools:
    detector: object
    shape_predictor: object
    recognizer: object

    def face_chip(self, image: np.ndarray) -> np.ndarray | None:
        """dlib's 150x150 chip of the largest face, or None when no face is found."""
        for upsample in (0, 1):
            faces = self.detector(image, upsample)
            if faces:
                face = max(faces, key=lambda rect: rect.area())
                shape = self.shape_predictor(image, face)
                return dlib.get_face_chip(image, shape, size=150, padding=0.25)
        return None

    def descriptors(self, chips: Iterable[np.ndarray]) -> np.ndarray:
        """One ``compute_face_descriptor(chip)`` call per chip: no jitter, no batching."""
        return np.array([np.array(self.recognizer.compute_face_descriptor(c)) for c in chips])


@pytest.fixture(scope="module")
def model() -> DlibResNet:
    return DlibResNet.load()


@pytest.fixture(scope="module")
def tools() -> DlibTools:
    return DlibTools(
        detector=dlib.get_frontal_face_detector(),
        shape_predictor=dlib.shape_predictor(str(dlib_model_path("shape_predictor_5"))),
        recognizer=dlib.face_recognition_model_v1(str(dlib_model_path("recognizer"))),
    )


@pytest.fixture(scope="module")
def public_chips(tools: DlibTools, astronaut: np.ndarray, grace_hopper: np.ndarray) -> np.ndarray:
    chips = [tools.face_chip(image) for image in (astronaut, grace_hopper)]
    assert all(chip is not None for chip in chips), "dlib found no face in a public-domain sample"
    return np.stack(chips)


def to_tensor(chips: np.ndarray) -> torch.Tensor:
    """``(N, 150, 150, 3)`` uint8 chips -> ``(N, 3, 150, 150)`` float in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(chips)).permute(0, 3, 1, 2).float() / 255


def embed(model: DlibResNet, chips: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model(to_tensor(chips)).double().numpy()


def load_photo(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        image.draft("RGB", (DETECTION_MAX_SIDE, DETECTION_MAX_SIDE))  # fast JPEG downscale
        image = image.convert("RGB")
        image.thumbnail((DETECTION_MAX_SIDE, DETECTION_MAX_SIDE))
        return np.asarray(image)


def first_photo_per_identity(face_set: Path, count: int) -> list[Path]:
    with (face_set / "labels.csv").open(newline="") as f:
        first: dict[str, str] = {}
        for row in csv.DictReader(f):
            first.setdefault(row["identity"], row["path"])
    return [face_set / path for path in list(first.values())[:count]]


@pytest.fixture(scope="module")
def real_chips(tools: DlibTools, shared_faces: Path) -> np.ndarray:
    """Chips of real faces: LFW crops and high-resolution deepface photos (never in the repo)."""
    photos = first_photo_per_identity(shared_faces / "lfw", LFW_IDENTITIES)
    photos += first_photo_per_identity(shared_faces / "deepface", DEEPFACE_IDENTITIES)
    chips = [chip for chip in (tools.face_chip(load_photo(p)) for p in photos) if chip is not None]
    assert len(chips) >= MIN_REAL_FACES, f"dlib found only {len(chips)} faces in {len(photos)}"
    return np.stack(chips)


# ---------------------------------------------------------------------------------------------


def test_attributes_and_frozen_eval_mode(model: DlibResNet) -> None:
    assert model.chip_size == (150, 150)
    assert model.metric == "euclidean"
    assert model.threshold == 0.6
    assert model.name == "dlib"
    assert not model.training
    assert all(not p.requires_grad for p in model.parameters())


def test_public_domain_faces_match_dlib(
    model: DlibResNet, tools: DlibTools, public_chips: np.ndarray
) -> None:
    difference = np.abs(embed(model, public_chips) - tools.descriptors(public_chips)).max()
    logger.info("public-domain faces: max abs difference to dlib %.3g", difference)
    assert difference < TOLERANCE


@pytest.mark.slow
def test_real_faces_match_dlib(model: DlibResNet, tools: DlibTools, real_chips: np.ndarray) -> None:
    ours = embed(model, real_chips)
    reference = tools.descriptors(real_chips)
    difference = np.abs(ours - reference).max(axis=1)
    logger.info("%d real faces: max abs difference to dlib %.3g", len(real_chips), difference.max())
    assert difference.max() < TOLERANCE, f"faces {np.flatnonzero(difference >= TOLERANCE)} differ"


def test_different_people_are_beyond_the_threshold(
    model: DlibResNet, public_chips: np.ndarray
) -> None:
    astronaut, hopper = embed(model, public_chips)
    assert np.linalg.norm(astronaut - hopper) > model.threshold


def test_input_gradients_are_finite_and_nonzero(
    model: DlibResNet, public_chips: np.ndarray
) -> None:
    chips = to_tensor(public_chips).requires_grad_(True)
    target = torch.zeros(128)
    loss = (model(chips) - target).pow(2).sum()
    loss.backward()
    assert chips.grad is not None
    assert torch.isfinite(chips.grad).all()
    assert (chips.grad.abs().amax(dim=(1, 2, 3)) > 0).all()


def test_batch_equals_singles(model: DlibResNet, public_chips: np.ndarray) -> None:
    flipped = public_chips[:, :, ::-1]
    noise = np.random.default_rng(0).integers(-20, 21, public_chips.shape)
    noisy = np.clip(public_chips + noise, 0, 255).astype(np.uint8)
    chips = to_tensor(np.concatenate([public_chips, flipped, noisy]))
    with torch.no_grad():
        batch = model(chips)
        singles = torch.cat([model(chip[None]) for chip in chips])
    assert batch.shape == (6, 128)
    torch.testing.assert_close(batch, singles, rtol=0, atol=1e-5)


@pytest.mark.parametrize(
    "chips",
    [torch.zeros(3, 150, 150), torch.zeros(1, 3, 112, 112), torch.zeros(1, 150, 150, 3)],
    ids=["no-batch", "wrong-size", "channels-last"],
)
def test_wrong_shapes_are_rejected(model: DlibResNet, chips: torch.Tensor) -> None:
    with pytest.raises(ValueError, match=r"\(N, 3, 150, 150\)"):
        model(chips)


def test_uint8_input_is_rejected(model: DlibResNet) -> None:
    with pytest.raises(ValueError, match="divide uint8 by 255"):
        model(torch.zeros(1, 3, 150, 150, dtype=torch.uint8))


def test_float64_input_gives_the_float32_result(
    model: DlibResNet, public_chips: np.ndarray
) -> None:
    chips = to_tensor(public_chips)
    with torch.no_grad():
        torch.testing.assert_close(model(chips.double()), model(chips))


def test_a_network_of_another_shape_is_rejected() -> None:
    network = read_dlib_network(dlib_model_path("recognizer"))
    truncated = dataclasses.replace(network, layers=network.layers[:-1])
    with pytest.raises(DlibFormatError, match="ends where a 'fc' layer was expected"):
        DlibResNet(truncated)
    swapped = dataclasses.replace(
        network, layers=(network.layers[0], ReluLayer(), *network.layers[2:])
    )
    with pytest.raises(DlibFormatError, match=r"layer 1 .* is 'relu' but .* has 'con' there"):
        DlibResNet(swapped)


def test_add_zero_padded_follows_dlib_add_prev() -> None:
    block = torch.ones(1, 4, 3, 3)  # more channels, smaller plane (stride-2 conv path)
    skip = torch.full((1, 2, 4, 4), 10.0)  # fewer channels, larger plane (avg-pool path)
    total = add_zero_padded(block, skip)
    assert total.shape == (1, 4, 4, 4)
    assert (total[:, :2, :3, :3] == 11).all()  # both present
    assert (total[:, 2:, :3, :3] == 1).all()  # channels only the block has
    assert (total[:, :2, 3, :] == 10).all() and (total[:, :2, :, 3] == 10).all()
    assert (total[:, 2:, 3, :] == 0).all()  # neither has these


def test_load_recognizer_gives_the_dlib_resnet() -> None:
    recognizer = load_recognizer("dlib")
    assert isinstance(recognizer, DlibResNet)
    assert recognizer.name == "dlib"


def test_load_recognizer_rejects_unknown_names() -> None:
    with pytest.raises(ValueError, match=r"unknown recognizer .arcface.; choose one of: .*dlib"):
        load_recognizer("arcface")
