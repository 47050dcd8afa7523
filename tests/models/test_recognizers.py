"""The recognizer registry: names, availability with reasons, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

import facecloak
from facecloak.errors import FacecloakError, ModelNotFoundError
from facecloak.models import available_recognizers, known_recognizers, load_recognizer

EXPECTED = {"dlib", "mobilefacenet", "intel_reid0095", "intel_reid0001", "adi_faceid"}


def test_every_recognizer_of_the_issue_is_registered() -> None:
    assert set(known_recognizers()) >= EXPECTED


def test_unknown_name_is_one_line_listing_the_valid_names() -> None:
    with pytest.raises(FacecloakError) as caught:
        facecloak.load_recognizer("vggface")
    message = str(caught.value)
    assert "\n" not in message and "'vggface'" in message
    assert all(name in message for name in known_recognizers())
    assert isinstance(caught.value, ValueError)


def test_availability_names_where_the_weights_were_looked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FACECLOAK_SHARED", str(tmp_path))
    reasons = available_recognizers()
    assert set(reasons) == set(known_recognizers())
    assert reasons["dlib"] is None  # installed from PyPI
    for name in EXPECTED - {"dlib"}:
        assert reasons[name] is not None and str(tmp_path) in reasons[name], name
        with pytest.raises(ModelNotFoundError, match=str(tmp_path)):
            load_recognizer(name)


def test_an_explicit_missing_path_is_reported(tmp_path: Path) -> None:
    for name in EXPECTED - {"dlib"}:
        with pytest.raises(ModelNotFoundError, match="nowhere"):
            load_recognizer(name, tmp_path / "nowhere" / "weights")


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("place", ["middle", "corner"])
def test_embedding_reads_only_the_faces_region_yet_matches_the_whole_photo(name, place) -> None:
    """``embed`` converts only the region the chips read; the embedding is the one warped
    from the whole photo (the pyramids' pixel phase and the filters' margins kept)."""
    import numpy as np
    import torch

    from facecloak.data import astronaut
    from facecloak.faces.face import Face
    from facecloak.faces.landmarks import predict_landmarks
    from facecloak.models.recognizer import rgb_to_tensor

    if available_recognizers()[name] is not None:
        pytest.skip(f"{name}: {available_recognizers()[name]}")
    recognizer = load_recognizer(name)
    small = astronaut()
    big = np.zeros((1700, 1500, 3), np.uint8)
    top, left = (601, 433) if place == "middle" else (0, 0)
    big[top : top + 512, left : left + 512] = small
    box = (175 + left, 76 + top, 266 + left, 167 + top)
    face = Face(box, 1.0, landmarks=predict_landmarks(big, box))
    transforms = recognizer.chip_transforms(big, [face])
    with torch.no_grad():
        whole = recognizer(recognizer.warp(rgb_to_tensor(big), transforms))
    assert torch.allclose(recognizer.embed(big, [face]), whole, atol=1e-5)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_loading_leaves_the_random_stream_where_it_was(name) -> None:
    """A network's random initial weights (replaced by the real ones) are drawn aside: a seeded
    cloak is the same on the call that first loads its models as on any later one."""
    import torch

    if available_recognizers()[name] is not None:
        pytest.skip(f"{name}: {available_recognizers()[name]}")
    torch.manual_seed(0)
    expected = torch.rand(4)
    torch.manual_seed(0)
    load_recognizer(name)
    assert torch.equal(torch.rand(4), expected)
