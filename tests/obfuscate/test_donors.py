from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import facecloak.obfuscate.donors as donors_module
from facecloak.errors import FacecloakError, NoFaceError
from facecloak.faces.traits import FaceTraits
from facecloak.models import load_recognizer
from facecloak.obfuscate.donors import DonorIndex, DonorRules, index_donors, matching_donors

SKIN = (60.0, 10.0, 20.0)


def traits(yaw=0.0, mouth_open=False, skin=SKIN, glasses=False) -> FaceTraits:
    return FaceTraits(yaw, mouth_open, skin, glasses)


def test_every_rule_must_pass_when_some_donor_passes():
    donors = (traits(yaw=0.6), traits(mouth_open=True), traits(skin=(90, 0, 0)), traits())
    assert matching_donors(donors, traits(), DonorRules()) == [3]


def test_rules_are_dropped_from_the_least_important():
    donors = (traits(glasses=True), traits(yaw=0.8))
    assert matching_donors(donors, traits(), DonorRules()) == [0]  # glasses go first
    donors = (traits(mouth_open=True, glasses=True), traits(yaw=0.8))
    assert matching_donors(donors, traits(), DonorRules()) == [0]  # then skin, then mouth


def test_with_no_pose_match_the_nearest_poses_are_kept():
    donors = (traits(yaw=0.9), traits(yaw=-0.5), traits(yaw=0.8), traits(yaw=0.7))
    assert matching_donors(donors, traits(yaw=0.0), DonorRules()) == [1]


def test_the_most_distant_matching_donor_is_chosen():
    dlib = load_recognizer("dlib")
    embeddings = torch.tensor([[0.0, 0.0], [5.0, 0.0], [9.0, 0.0]])
    index = DonorIndex(
        Path("."),
        "dlib",
        (Path("a"), Path("b"), Path("c")),
        np.zeros((3, 68, 2)),
        (traits(), traits(), traits(yaw=0.9)),
        embeddings,
    )
    assert index.choose(traits(), torch.tensor([0.0, 0.0]), dlib) == 1


def test_a_missing_or_empty_folder_is_one_line(tmp_path):
    dlib = load_recognizer("dlib")
    with pytest.raises(FacecloakError, match="is not a folder"):
        index_donors(tmp_path / "absent", dlib)
    with pytest.raises(FacecloakError, match="holds no photos"):
        index_donors(tmp_path, dlib)


def test_a_folder_without_faces_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("FACECLOAK_CACHE", str(tmp_path / "cache"))
    Image.fromarray(np.full((64, 64, 3), 128, np.uint8)).save(tmp_path / "grey.png")
    with pytest.raises(NoFaceError, match="no face found in any of its 1 photos"):
        index_donors(tmp_path, load_recognizer("dlib"))


def test_the_index_is_cached_on_disk_until_the_folder_changes(hopper_donors, monkeypatch, tmp_path):
    dlib = load_recognizer("dlib")
    first = index_donors(hopper_donors, dlib)
    assert len(first) == 1 and first.points.shape == (1, 68, 2)
    donors_module._INDEXES.clear()

    def no_indexing(*_args):
        raise AssertionError("indexed again")

    monkeypatch.setattr(donors_module, "_build_index", no_indexing)
    again = index_donors(hopper_donors, dlib)
    assert torch.equal(again.embeddings, first.embeddings)
    assert again.traits == first.traits
    Image.fromarray(np.full((64, 64, 3), 90, np.uint8)).save(hopper_donors / "new.png")
    with pytest.raises(AssertionError, match="indexed again"):
        index_donors(hopper_donors, dlib)
