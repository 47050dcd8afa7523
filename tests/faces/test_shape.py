from __future__ import annotations

import numpy as np

from facecloak.faces.shape import inter_ocular, landmark_error, mouth_opening, yaw
from facecloak.faces.traits import measure_traits


def test_landmark_error_is_in_inter_ocular_units(astronaut_points_68):
    shift = np.array([inter_ocular(astronaut_points_68) * 0.1, 0.0])
    assert abs(landmark_error(astronaut_points_68, astronaut_points_68 + shift) - 0.1) < 1e-9
    # the same shift on a face twice the size is half the error
    double = astronaut_points_68 * 2
    assert abs(landmark_error(double, double + shift) - 0.05) < 1e-9


def test_yaw_turns_sign_in_a_mirror(astronaut_points_68):
    turned = astronaut_points_68.copy()
    turned[27:36, 0] += 0.25 * inter_ocular(turned)  # the nose towards the photo's right
    mirrored = turned.copy()
    mirrored[:, 0] = -mirrored[:, 0]
    mirrored[[0, 16]] = mirrored[[16, 0]]
    assert yaw(turned) > 0.1
    assert abs(yaw(mirrored) + yaw(turned)) < 1e-9


def test_an_open_mouth_measures_open(astronaut_points_68):
    opened = astronaut_points_68.copy()
    opened[[65, 66, 67], 1] += 0.3 * inter_ocular(opened)
    assert mouth_opening(astronaut_points_68) < 0.12 < mouth_opening(opened)


def test_traits_of_the_astronaut(astronaut, astronaut_points_68):
    traits = measure_traits(astronaut, astronaut_points_68)
    assert abs(traits.yaw) < 0.2 and not traits.mouth_open and not traits.glasses
    lightness, red_green, _ = traits.skin
    assert 50 < lightness < 95 and red_green > 0
