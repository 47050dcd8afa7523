"""The evasion cloak hides faces from the detector it attacks, inside its budget and floor."""

import numpy as np
import pytest
import torch

from facecloak.errors import InvalidOptionError
from facecloak.geometry import box_iou
from facecloak.models import detect
from facecloak.models.detectors import get_detector
from facecloak.protect import (
    DEFAULT_EVASION,
    EVASION_DETECTORS,
    EvasionSettings,
    ProtectConfig,
    hide_faces,
    protect,
)
from facecloak.protect.evasion_area import face_mask


def _found(rgb, face) -> bool:
    return any(box_iou(f.box, face.box) >= 0.5 for f in get_detector("centerface")(rgb))


@pytest.fixture(scope="module")
def hidden_astronaut(astronaut):
    faces = detect(astronaut)
    settings = EvasionSettings(eps=0.03, steps=40)
    protected, reports = hide_faces(astronaut, faces, [0], settings)
    return astronaut, faces, protected, reports


def test_the_attacked_detector_no_longer_finds_the_face(hidden_astronaut):
    original, faces, protected, reports = hidden_astronaut
    assert _found(original, faces[0])
    assert not _found(protected, faces[0])
    assert reports[0].found_after is False
    assert reports[0].score_before > 0.5 > reports[0].score_after


def test_the_change_stays_in_budget_near_the_face_and_above_the_floor(hidden_astronaut):
    original, faces, protected, reports = hidden_astronaut
    change = np.abs(protected.astype(int) - original.astype(int))
    assert change.max() <= round(0.03 * 255) + 1
    x0, y0, x1, y1 = faces[0].box
    size = max(x1 - x0, y1 - y0)
    reach = (0.5 + 0.25) * size + 2  # mask growth + feather
    rows, cols = np.nonzero(change.max(axis=2))
    assert rows.min() >= y0 - reach and rows.max() <= y1 + reach
    assert cols.min() >= x0 - reach and cols.max() <= x1 + reach
    assert reports[0].ssim >= 0.95


def test_soft_mask_is_one_on_the_face_and_zero_far_away(astronaut):
    face = detect(astronaut)[0]
    mask = face_mask(face, (0, 0, astronaut.shape[1], astronaut.shape[0]), grow=0.5)
    x0, y0, x1, y1 = (int(v) for v in face.box)
    assert float(mask[0, 0, y0:y1, x0:x1].min()) == 1.0
    assert float(mask[0, 0, -1, -1]) == 0.0


def test_protect_against_detection_reports_hidden_faces(grace_hopper):
    config = ProtectConfig(
        against="detection", eps=0.03, steps=40, robust=False, evade=("centerface",)
    )
    result = protect(grace_hopper, config)
    assert result.outcomes == []
    assert [h.protected for h in result.hidden] == [True]
    assert "faces_hidden" in result.to_dict()


def test_protect_against_both_cloaks_identity_and_hides(grace_hopper):
    config = ProtectConfig(against="both", strength="low", evade=("centerface",), steps=20)
    result = protect(grace_hopper, config)
    assert result.outcomes and result.hidden
    assert result.settings["evasion"]["eps"] == DEFAULT_EVASION.eps


def test_unknown_against_and_detector_are_refused(grace_hopper):
    with pytest.raises(InvalidOptionError, match="against"):
        ProtectConfig(against="everything")
    with pytest.raises(InvalidOptionError, match="evade='hog'"):
        ProtectConfig(against="detection", evade=("hog",))
    assert "hog" not in EVASION_DETECTORS and "centerface" in EVASION_DETECTORS


def test_resize_eot_keeps_the_face_hidden_at_three_quarter_size(astronaut):
    from PIL import Image

    faces = detect(astronaut)
    torch.manual_seed(0)
    settings = EvasionSettings(eps=0.03, steps=40, robust=True, robust_resize=True)
    protected, reports = hide_faces(astronaut, faces, [0], settings)
    smaller = np.asarray(Image.fromarray(protected).resize((384, 384), Image.Resampling.LANCZOS))
    assert not _found(protected, faces[0])
    assert not get_detector("centerface")(smaller)
    assert reports[0].ssim >= 0.95
