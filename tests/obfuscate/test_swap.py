from __future__ import annotations

import cv2
import numpy as np
import pytest

from facecloak.faces.landmarks import predict_landmarks_68
from facecloak.faces.shape import landmark_error
from facecloak.models import detect, largest_face, load_recognizer
from facecloak.obfuscate.donors import index_donors
from facecloak.obfuscate.swap import (
    SwapSettings,
    mesh_points,
    paste_mask,
    swap_face,
    swap_faces,
    transfer_colour,
    warp_mesh,
)


@pytest.mark.parametrize("blend", ["feather", "poisson"])
def test_only_the_face_outline_changes(
    astronaut, astronaut_points, grace_hopper, hopper_points, blend
):
    settings = SwapSettings(blend=blend)
    swapped = swap_face(astronaut, astronaut_points, grace_hopper, hopper_points, settings)
    mask = paste_mask(astronaut_points, *astronaut.shape[:2], settings.forehead).astype(bool)
    changed = (swapped != astronaut).any(axis=2)
    assert changed[mask].mean() > 0.5
    assert not changed[~mask].any()


def test_limit_bounds_the_change(astronaut, astronaut_points, grace_hopper, hopper_points):
    x0, y0, x1, y1 = 200, 100, 240, 140
    swapped = swap_face(
        astronaut, astronaut_points, grace_hopper, hopper_points, limit=(x0, y0, x1, y1)
    )
    changed = (swapped != astronaut).any(axis=2)
    assert changed[y0:y1, x0:x1].any()
    changed[y0:y1, x0:x1] = False
    assert not changed.any()


def test_pose_and_expression_are_the_targets(
    astronaut, astronaut_points, grace_hopper, hopper_points
):
    swapped = swap_face(astronaut, astronaut_points, grace_hopper, hopper_points)
    box = largest_face(detect(astronaut)).box
    assert landmark_error(astronaut_points, predict_landmarks_68(swapped, box)) < 0.08
    # ...while the donor's own face sits elsewhere in its photo and would be far off.
    assert landmark_error(astronaut_points, hopper_points) > 0.5


def test_the_swapped_face_is_far_from_the_original(
    astronaut, astronaut_points, grace_hopper, hopper_points
):
    dlib = load_recognizer("dlib")
    face = largest_face(detect(astronaut))
    swapped = swap_face(astronaut, astronaut_points, grace_hopper, hopper_points)
    before = dlib.embed(astronaut, [face])
    after = dlib.embed(swapped, [largest_face(detect(swapped))])
    # One public-domain donor only (the benchmark picks the farthest of hundreds): the swapped
    # face is already most of the way to dlib's threshold from the original.
    assert float(dlib.distance(before, after)) > 0.8 * dlib.threshold


def test_the_open_mouth_is_kept(astronaut_points):
    opened = astronaut_points.copy()
    opened[[65, 66, 67], 1] += 12  # lower inner lip down: an open mouth
    mask = paste_mask(opened, 512, 512, forehead=0.1)
    inside_mouth = np.round(opened[[62, 66]].mean(0)).astype(int)
    assert mask[inside_mouth[1], inside_mouth[0]] == 0
    assert mask[round(opened[33, 1]), round(opened[33, 0])] == 1  # the nose is pasted


def test_a_mesh_onto_itself_is_the_identity(astronaut, astronaut_points):
    points = mesh_points(astronaut_points, 0.1)
    warped = warp_mesh(astronaut, points, points, astronaut.shape[:2])
    inside = paste_mask(astronaut_points, 512, 512, 0.1).astype(bool)
    inside = cv2.erode(inside.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    difference = np.abs(warped.astype(int) - astronaut.astype(int))[inside]
    assert difference.mean() < 1.0


def test_colour_transfer_takes_the_references_colours(astronaut, grace_hopper):
    source, reference = astronaut[100:160, 200:260], grace_hopper[220:280, 230:290]  # cheeks
    mask = np.ones((60, 60), np.uint8)
    moved = transfer_colour(source, reference, mask)
    lab = [cv2.cvtColor(x.astype(np.float32) / 255, cv2.COLOR_RGB2LAB) for x in (moved, reference)]
    assert np.allclose(lab[0].mean((0, 1)), lab[1].mean((0, 1)), atol=3)


def test_an_unknown_blend_is_refused():
    with pytest.raises(ValueError, match="blend='soft'"):
        SwapSettings(blend="soft")


def test_swap_faces_takes_a_donor_from_the_index(astronaut, hopper_donors):
    dlib = load_recognizer("dlib")
    face = largest_face(detect(astronaut))
    donors = index_donors(hopper_donors, dlib)
    swapped, chosen = swap_faces(astronaut, [face], donors, dlib)
    assert chosen == [0]
    assert (swapped != astronaut).any()
