"""A cloak may pull a face toward a public-domain decoy: the one farther from the face."""

from dataclasses import replace

import pytest
import torch

from facecloak.errors import InvalidOptionError
from facecloak.models import detect, largest_face
from facecloak.protect.decoys import farthest_decoy, replaced_decoy
from facecloak.protect.presets import PRESETS
from facecloak.recognition import embed_with_fresh_landmarks, shared_recognizer


def test_each_sample_face_is_pulled_toward_the_other(astronaut, grace_hopper) -> None:
    dlib = shared_recognizer("dlib")
    embeddings = [
        embed_with_fresh_landmarks(rgb, largest_face(detect(rgb)), dlib)
        for rgb in (astronaut, grace_hopper)
    ]
    toward_from_astronaut = farthest_decoy([dlib], [embeddings[0]])[0]
    toward_from_hopper = farthest_decoy([dlib], [embeddings[1]])[0]
    assert torch.allclose(toward_from_astronaut, embeddings[1], atol=1e-4)
    assert torch.allclose(toward_from_hopper, embeddings[0], atol=1e-4)


def test_the_replaced_decoy_is_someone_else_in_the_same_place(astronaut) -> None:
    dlib = shared_recognizer("dlib")
    face = largest_face(detect(astronaut))
    clean = embed_with_fresh_landmarks(astronaut, face, dlib)
    (decoy,) = replaced_decoy([dlib], astronaut, face)
    assert decoy.shape == clean.shape
    assert float(dlib.distance(decoy, clean)[0]) > dlib.threshold


def test_an_unknown_decoy_is_refused() -> None:
    with pytest.raises(InvalidOptionError, match="decoy='nobody'"):
        replace(PRESETS["mid"], decoy="nobody")
