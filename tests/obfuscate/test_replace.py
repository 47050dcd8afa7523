"""Replacing the astronaut's face with a randomly initialised tiny generator."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from facecloak.faces.face import Face
from facecloak.faces.landmarks import predict_landmarks_68
from facecloak.obfuscate.replace import ReplaceSettings, replace_faces
from facecloak.replace.attributes import ATTRIBUTES
from facecloak.replace.checkpoint import LoadedGenerator
from facecloak.replace.crops import align_crop, ellipse_mask
from facecloak.replace.model import Generator, GeneratorConfig

BOX = (175, 76, 266, 167)


@pytest.fixture
def tiny() -> LoadedGenerator:
    torch.manual_seed(0)
    generator = Generator(GeneratorConfig(widths=(8, 8, 8, 8, 8), embedding=4)).eval()
    with torch.no_grad():  # untrained FiLM is zero: make the attributes matter
        torch.nn.init.normal_(generator.film.weight, std=0.5)
    edges = {name: np.linspace(-1, 1, bins + 1)[1:-1] for name, bins in ATTRIBUTES.items()}
    return LoadedGenerator(generator, edges, {})


def test_only_the_face_ellipse_changes(astronaut, tiny):
    out = replace_faces(astronaut, [Face(BOX, 1.0)], tiny)
    _, crop_points, matrix = align_crop(astronaut, predict_landmarks_68(astronaut, BOX))
    inverse = np.linalg.inv(np.vstack([matrix, [0, 0, 1]]))[:2]
    import cv2

    ellipse = cv2.warpAffine(ellipse_mask(crop_points), inverse, astronaut.shape[1::-1])
    changed = (out != astronaut).any(-1)
    assert changed.sum() > 2000
    assert not changed[ellipse == 0].any()  # nothing outside the pasted ellipse


def test_the_same_seed_gives_the_same_face(astronaut, tiny):
    faces = [Face(BOX, 1.0)]
    first = replace_faces(astronaut, faces, tiny, ReplaceSettings(seed=5))
    again = replace_faces(astronaut, faces, tiny, ReplaceSettings(seed=5))
    other = replace_faces(astronaut, faces, tiny, ReplaceSettings(seed=6))
    assert np.array_equal(first, again) and not np.array_equal(first, other)


def test_kept_attributes_ignore_the_seed(astronaut, tiny):
    faces = [Face(BOX, 1.0)]
    keep = [replace_faces(astronaut, faces, tiny, ReplaceSettings("keep", seed)) for seed in (1, 2)]
    assert np.array_equal(*keep)


def test_a_bad_attribute_choice_is_refused():
    with pytest.raises(ValueError, match="unknown attribute"):
        ReplaceSettings("hair=1")


def test_anonymous_geometry_draws_the_face_on_other_landmarks(astronaut, tiny):
    from dataclasses import replace

    _, crop_points, _ = align_crop(astronaut, predict_landmarks_68(astronaut, BOX))
    bank = np.stack([crop_points + shift for shift in np.linspace(-3, 3, 9)[:, None, None]])
    bank[..., 1] += np.linspace(0, 4, 68)  # a longer face than the astronaut's
    shaped = replace(tiny, shapes=bank)
    faces = [Face(BOX, 1.0)]
    own = replace_faces(astronaut, faces, shaped, ReplaceSettings(shape_mix=0.0))
    assert np.array_equal(own, replace_faces(astronaut, faces, tiny))
    mixed = replace_faces(astronaut, faces, shaped, ReplaceSettings(shape_mix=1.0))
    assert not np.array_equal(mixed, own)


def test_a_shape_mix_outside_0_to_2_is_refused():
    from facecloak.errors import FacecloakError

    with pytest.raises(FacecloakError, match=r"shape mix 2\.5: give a value from 0 to 2"):
        ReplaceSettings(shape_mix=2.5)


def test_the_judge_keeps_the_draw_farthest_from_the_original(astronaut, tiny):
    from facecloak.faces.landmarks import predict_landmarks
    from facecloak.models import load_recognizer

    dlib = load_recognizer("dlib")
    face = Face(BOX, 1.0, landmarks=predict_landmarks(astronaut, BOX))
    faces = [face]
    before = dlib.embed(astronaut, faces)

    def distance(photo):
        return float(dlib.distance(before, dlib.embed(photo, faces))[0])

    first = replace_faces(astronaut, faces, tiny, ReplaceSettings(candidates=1), judge=dlib)
    searched = replace_faces(astronaut, faces, tiny, ReplaceSettings(candidates=4), judge=dlib)
    assert distance(searched) >= distance(first)
    unjudged = replace_faces(astronaut, faces, tiny, ReplaceSettings(candidates=4))
    assert np.array_equal(unjudged, first)  # no judge: the first draw, as with one candidate


def test_farthest_picks_the_candidate_the_judge_finds_most_changed(astronaut):
    from facecloak.faces.landmarks import predict_landmarks
    from facecloak.models import load_recognizer
    from facecloak.obfuscate.replace import _farthest, plan_paste

    face = Face(BOX, 1.0, landmarks=predict_landmarks(astronaut, BOX))
    crop, _, matrix = align_crop(astronaut, predict_landmarks_68(astronaut, BOX))
    alpha = np.zeros(crop.shape[:2], np.float32)
    alpha[40:110, 30:98] = 1.0
    plan = plan_paste(astronaut.shape, alpha, matrix)
    grey = np.full_like(crop, 128)
    dlib = load_recognizer("dlib")
    for order in ([crop, grey], [grey, crop]):
        chosen = _farthest(astronaut, astronaut, np.stack(order), plan, face, dlib)
        x0, y0, x1, y1 = plan.window
        assert (chosen[y0:y1, x0:x1] == 128).mean() > 0.3  # the grey one
        assert np.array_equal(chosen[:y0], astronaut[:y0])  # only the window changes


def test_the_new_face_takes_the_light_of_the_face_not_of_its_surroundings():
    from facecloak.obfuscate.replace import match_lighting

    inside = np.zeros((32, 32), bool)
    inside[8:24, 8:24] = True
    original = np.full((32, 32, 3), 20, np.uint8)  # dark hair and background round the face
    original[inside] = (200, 160, 140)
    new_face = np.full((32, 32, 3), 90, np.uint8)
    new_face[12:14, 10:22] = 40  # its own features keep their contrast
    moved = match_lighting(new_face, inside, original, inside)
    assert np.abs(moved[inside].mean(0) - (200, 160, 140)).max() < 6
    assert moved[16, 16].astype(int).sum() - moved[13, 16].astype(int).sum() > 60
