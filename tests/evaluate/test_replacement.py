from __future__ import annotations

import numpy as np
import pytest

from facecloak.evaluate.replacement import (
    Assessment,
    assess,
    build_gallery,
    outside_change,
    summarise,
    working_area,
)
from facecloak.models import detect, largest_face, load_recognizer
from facecloak.obfuscate import obfuscate_faces


@pytest.fixture(scope="module")
def faces(astronaut, grace_hopper):
    return {
        "astronaut": (astronaut, largest_face(detect(astronaut))),
        "hopper": (grace_hopper, largest_face(detect(grace_hopper))),
    }


@pytest.fixture(scope="module")
def gallery(faces):
    """Each person's "other photo" is the same photo mirrored (so the clean face matches)."""
    others = {}
    for name, (rgb, _) in faces.items():
        mirrored = np.ascontiguousarray(rgb[:, ::-1])
        others[name] = [(mirrored, largest_face(detect(mirrored)))]
    return build_gallery(load_recognizer("dlib"), others)


def test_an_unchanged_face_is_matched_found_and_in_place(faces, gallery):
    rgb, face = faces["astronaut"]
    result = assess(rgb, rgb.copy(), face, "astronaut", [gallery])
    assert result.no_match == {"dlib": False} and result.rank1_miss == {"dlib": False}
    assert result.detected
    assert result.landmark_error == 0.0
    assert (result.outside_changed, result.outside_max) == (0.0, 0)


def test_a_masked_face_is_not_matched_and_not_found(faces, gallery):
    rgb, face = faces["astronaut"]
    masked = obfuscate_faces(rgb, [face], "mask")
    result = assess(rgb, masked, face, "astronaut", [gallery])
    assert result.no_match["dlib"]
    assert not result.detected
    assert result.landmark_error > 0.08
    assert result.outside_changed == 0.0


def test_a_change_outside_the_face_is_seen(faces, gallery):
    rgb, face = faces["hopper"]
    changed = rgb.copy()
    changed[:8, :8] = 255 - changed[:8, :8]
    result = assess(rgb, changed, face, "hopper", [gallery])
    assert result.outside_changed > 0 and result.outside_max > 0


def test_outside_change_counts_pixels_outside_the_allowed_area():
    before = np.zeros((10, 10, 3), np.uint8)
    after = before.copy()
    after[0, 0] = 7
    after[5, 5] = 200
    allowed = np.zeros((10, 10), bool)
    allowed[4:7, 4:7] = True
    assert outside_change(before, after, allowed) == (1 / 91, 7)


def test_the_working_area_holds_the_face(faces):
    rgb, face = faces["astronaut"]
    area = working_area(face, *rgb.shape[:2])
    x0, y0, x1, y1 = (round(v) for v in face.box)
    assert area[y0:y1, x0:x1].all() and not area.all()


def test_summary_rates():
    found = Assessment("a", {"dlib": True}, {"dlib": True}, True, 0.02, 0.0, 0)
    missed = Assessment("b", {"dlib": False}, {"dlib": True}, False, 0.04, 0.1, 9)
    summary = summarise([found, missed], [0.5, 1.5])
    assert summary["no_match"] == {"dlib": 0.5} and summary["rank1_miss"] == {"dlib": 1.0}
    assert summary["detected"] == 0.5 and summary["changed_outside"] == 0.5
    assert summary["landmark_error"] == pytest.approx(0.03)
    assert summary["seconds_per_face"] == 1.0
