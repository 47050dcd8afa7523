"""``ProtectConfig(method="replace", ...)``: checked when made; ``then="cloak"`` adds a cloak."""

from __future__ import annotations

import pytest

from facecloak.errors import InvalidOptionError
from facecloak.protect import ProtectConfig


def test_replace_is_one_obfuscation_stage_and_then_cloak_adds_the_identity_cloak():
    assert ProtectConfig(method="replace").stages == ("obfuscation",)
    cloaked = ProtectConfig(method="replace", then="cloak", attributes="smile=0,yaw=keep")
    assert cloaked.stages == ("obfuscation", "identity")
    assert cloaked.settings.attack == "perceptual"


def test_the_cloak_after_a_replacement_goes_farther_with_no_decoy():
    from dataclasses import replace

    from facecloak.protect.presets import PRESETS

    plain = ProtectConfig(strength="mid").settings
    after = ProtectConfig(method="replace", then="cloak", strength="mid").settings
    assert after.margin > plain.margin and after.pull == plain.pull == 0
    assert (after.s2_floor, after.ssim_floor, after.eps) == (
        plain.s2_floor,
        plain.ssim_floor,
        plain.eps,
    )
    own = replace(PRESETS["mid"], margin=0.2)
    assert ProtectConfig(method="replace", then="cloak", strength=own).settings == own


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"method": "blur", "attributes": "keep"}, "apply to method=replace, not method=blur"),
        ({"method": "replace", "attributes": "hair=1"}, "unknown attribute 'hair'"),
        ({"method": "replace", "replacer": "/nowhere.pt"}, "is not a file"),
        ({"method": "replace", "then": "blur"}, "then='blur' is not known"),
        ({"method": "blur", "then": "cloak"}, "follows method=replace or swap"),
        ({"method": "blur", "shape_mix": 0.5}, "candidates apply to method=replace"),
        ({"method": "blur", "candidates": 2}, "candidates apply to method=replace"),
        ({"method": "replace", "candidates": 0}, "candidates=0: give 1 or more"),
        ({"method": "replace", "shape_mix": 2.5}, "shape_mix=2.5: give a value from 0 to 2"),
    ],
)
def test_bad_replace_settings_are_one_line(fields, message):
    with pytest.raises(InvalidOptionError, match=message) as caught:
        ProtectConfig(**fields)
    assert "\n" not in str(caught.value)


def test_the_replace_settings_reach_the_generator_with_the_judge(monkeypatch):
    from facecloak.data import astronaut
    from facecloak.protect import protect, stages

    seen = {}

    def fake_replace(image, faces, loaded, settings, judge=None):
        seen.update(settings=settings, judge=judge, faces=len(faces))
        return image.copy()

    monkeypatch.setattr(stages, "replace_faces", fake_replace)
    config = ProtectConfig(method="replace", shape_mix=0.25, candidates=3, seed=4)
    protect(astronaut(), config)
    assert seen["faces"] == 1 and seen["judge"].name == "dlib"
    settings = seen["settings"]
    assert (settings.shape_mix, settings.candidates, settings.seed) == (0.25, 3, 4)


def test_the_cloak_after_a_replacement_cuts_its_chips_where_the_new_face_is(monkeypatch):
    import numpy as np

    from facecloak.data import astronaut
    from facecloak.protect import protect, stages

    seen = {}

    def fake_cloak(image, faces, chosen, request, ticker):
        seen.update(request=request, faces=faces, image=image)
        raise RuntimeError("stop after the request")

    monkeypatch.setattr(stages, "cloak_identities", fake_cloak)
    config = ProtectConfig(method="replace", then="cloak", recognizers=("dlib",))
    with pytest.raises(RuntimeError, match="stop after the request"):
        protect(astronaut(), config)
    request, original_face = seen["request"], seen["faces"][0]
    found = request.seen_as[0]
    assert request.away_from is not None and not np.array_equal(request.away_from, seen["image"])
    # Found on the replaced photo: the new face's keypoints, not the original's.
    assert not np.allclose(found.detector_keypoints, original_face.detector_keypoints)


def test_a_plain_cloak_has_no_face_found_again(monkeypatch):
    from facecloak.data import astronaut
    from facecloak.protect import protect, stages

    seen = {}

    def fake_cloak(image, faces, chosen, request, ticker):
        seen.update(request=request)
        raise RuntimeError("stop after the request")

    monkeypatch.setattr(stages, "cloak_identities", fake_cloak)
    with pytest.raises(RuntimeError):
        protect(astronaut(), ProtectConfig(recognizers=("dlib",)))
    assert seen["request"].seen_as == {} and seen["request"].away_from is None
