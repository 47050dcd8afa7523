"""A cloak may pull a face toward a public-domain decoy: the one farther from the face."""

import torch

from facecloak.models import detect, largest_face
from facecloak.protect.decoys import farthest_decoy
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
