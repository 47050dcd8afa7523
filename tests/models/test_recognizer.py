"""The Recognizer contract, checked on every registered recognizer (skips without weights)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from facecloak.errors import ModelNotFoundError
from facecloak.faces import Face
from facecloak.models import Recognizer, Verdict, detect, known_recognizers, load_recognizer
from facecloak.models.recognizer import rgb_to_tensor

_LOADED: dict[str, Recognizer] = {}


def recognizer_or_skip(name: str) -> Recognizer:
    if name not in _LOADED:
        try:
            _LOADED[name] = load_recognizer(name)
        except ModelNotFoundError as exc:
            pytest.skip(f"{name} weights absent: {exc}")
    return _LOADED[name]


@pytest.fixture(params=known_recognizers())
def recognizer(request: pytest.FixtureRequest) -> Recognizer:
    return recognizer_or_skip(request.param)


@pytest.fixture(scope="module")
def hopper_faces(grace_hopper: np.ndarray) -> list[Face]:
    return detect(grace_hopper)


@pytest.fixture(scope="module")
def astronaut_faces(astronaut: np.ndarray) -> list[Face]:
    return detect(astronaut)


def test_declares_its_geometry_and_scale(recognizer: Recognizer) -> None:
    assert recognizer.name in known_recognizers()
    assert len(recognizer.chip_size) == 2 and min(recognizer.chip_size) >= 64
    assert recognizer.metric in ("euclidean", "cosine")
    assert 0.0 < recognizer.threshold < (2.0 if recognizer.metric == "cosine" else 10.0)
    assert not recognizer.training
    assert not any(p.requires_grad for p in recognizer.parameters())


def test_align_gives_chips_and_forward_embeddings(
    recognizer: Recognizer, grace_hopper: np.ndarray, hopper_faces: list[Face]
) -> None:
    photo = rgb_to_tensor(grace_hopper)
    chips = recognizer.align(photo, hopper_faces)
    assert chips.shape == (len(hopper_faces), 3, *recognizer.chip_size)
    with torch.no_grad():
        embeddings = recognizer(chips)
    assert embeddings.shape == (len(hopper_faces), recognizer.embedding_size)
    assert bool(torch.isfinite(embeddings).all())
    if recognizer.metric == "cosine":
        torch.testing.assert_close(embeddings.norm(dim=1), torch.ones(len(hopper_faces)))


def test_gradient_reaches_the_photo_through_align(
    recognizer: Recognizer, astronaut: np.ndarray, astronaut_faces: list[Face]
) -> None:
    photo = rgb_to_tensor(astronaut).requires_grad_()
    with torch.no_grad():
        clean = recognizer.embed(astronaut, astronaut_faces)
    noise = 0.02 * torch.randn(photo.shape, generator=torch.Generator().manual_seed(0))
    embeddings = recognizer(recognizer.align(photo + noise, astronaut_faces))
    recognizer.distance(embeddings, clean).sum().backward()
    assert photo.grad is not None and bool(torch.isfinite(photo.grad).all())
    touched = int((photo.grad.abs().sum(dim=(0, 1)) > 0).sum())
    assert 1_000 < touched < photo.shape[-1] * photo.shape[-2] // 2  # the face, not the photo


def test_warp_with_offset_equals_warp_of_the_whole_photo(
    recognizer: Recognizer, astronaut: np.ndarray, astronaut_faces: list[Face]
) -> None:
    photo = rgb_to_tensor(astronaut)
    transforms = recognizer.chip_transforms(astronaut, astronaut_faces)
    assert transforms.shape == (len(astronaut_faces), 2, 3)
    whole = recognizer.warp(photo, transforms)
    x0, y0 = 100, 20
    part = recognizer.warp(photo[..., y0:, x0:], transforms, offset=(x0, y0))
    torch.testing.assert_close(part, whole, atol=2e-3, rtol=0)


def test_distance_and_threshold_share_one_scale(
    recognizer: Recognizer,
    astronaut: np.ndarray,
    astronaut_faces: list[Face],
    grace_hopper: np.ndarray,
    hopper_faces: list[Face],
) -> None:
    hopper = recognizer.embed(grace_hopper, hopper_faces)[0]
    astronaut_embedding = recognizer.embed(astronaut, astronaut_faces)[0]
    mirrored = np.ascontiguousarray(grace_hopper[:, ::-1])
    hopper_mirrored = recognizer.embed(mirrored, detect(mirrored))[0]
    assert float(recognizer.distance(hopper, hopper)) == pytest.approx(0.0, abs=1e-5)
    assert float(recognizer.distance(hopper, hopper_mirrored)) < recognizer.threshold
    assert float(recognizer.distance(hopper, astronaut_embedding)) > recognizer.threshold
    assert float(recognizer.margin(hopper, astronaut_embedding)) > 0
    assert float(recognizer.margin(hopper, hopper_mirrored)) < 0
    verdict = recognizer.compare(hopper, astronaut_embedding)
    assert isinstance(verdict, Verdict) and not verdict.same
    assert verdict.recognizer == recognizer.name and verdict.threshold == recognizer.threshold


def test_embed_of_no_face_is_empty(recognizer: Recognizer, astronaut: np.ndarray) -> None:
    assert recognizer.embed(astronaut, []).shape == (0, recognizer.embedding_size)


def test_embed_each_batches_one_face_per_photo(
    recognizer: Recognizer,
    astronaut: np.ndarray,
    astronaut_faces: list[Face],
    grace_hopper: np.ndarray,
    hopper_faces: list[Face],
) -> None:
    photos, faces = [grace_hopper, astronaut], [hopper_faces[0], astronaut_faces[0]]
    each = recognizer.embed_each(photos, faces)
    one_by_one = torch.cat([recognizer.embed(p, [f]) for p, f in zip(photos, faces, strict=True)])
    assert each.shape == (2, recognizer.embedding_size)
    torch.testing.assert_close(each, one_by_one, atol=1e-4, rtol=1e-4)


def test_fast_layout_keeps_the_embeddings_and_their_gradient(
    recognizer: Recognizer, astronaut: np.ndarray, astronaut_faces: list[Face]
) -> None:
    loaded = recognizer  # from load_recognizer, which puts the weights in the fast layout
    convolutions = [w for w in loaded.state_dict().values() if w.ndim == 4]
    channels_last = [w.is_contiguous(memory_format=torch.channels_last) for w in convolutions]
    if loaded.channels_last:
        assert all(channels_last)
    plain = type(loaded).load()  # as its loader makes it, weights in the usual order
    assert convolutions and not all(
        w.is_contiguous(memory_format=torch.channels_last)
        for w in plain.state_dict().values()
        if w.ndim == 4
    )
    chips = recognizer.align(rgb_to_tensor(astronaut), astronaut_faces).requires_grad_()
    (fast_grad,) = torch.autograd.grad(loaded(chips).sum(), chips)
    (plain_grad,) = torch.autograd.grad(plain(chips).sum(), chips)
    torch.testing.assert_close(loaded(chips), plain(chips), atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(fast_grad, plain_grad, atol=1e-5, rtol=1e-3)
