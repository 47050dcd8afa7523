from __future__ import annotations

import numpy as np
import pytest

from facecloak.faces.regions import face_region
from facecloak.models import detect
from facecloak.obfuscate import OBFUSCATIONS, obfuscate_faces


@pytest.mark.parametrize("method", sorted(OBFUSCATIONS))
def test_only_the_face_changes(grace_hopper, method: str) -> None:
    faces = detect(grace_hopper)
    hidden = obfuscate_faces(grace_hopper, faces, method)
    region = face_region(faces[0], *grace_hopper.shape[:2])
    x0, y0, x1, y1 = region.crop
    outside = np.ones(grace_hopper.shape[:2], dtype=bool)
    outside[y0:y1, x0:x1] = False
    np.testing.assert_array_equal(hidden[outside], grace_hopper[outside])
    fx0, fy0, fx1, fy1 = (round(v) for v in region.mask_box)
    face_change = np.abs(hidden[fy0:fy1, fx0:fx1].astype(int) - grace_hopper[fy0:fy1, fx0:fx1])
    assert face_change.mean() > 8


def test_unknown_method_is_refused(grace_hopper) -> None:
    with pytest.raises(ValueError, match="unknown obfuscation"):
        obfuscate_faces(grace_hopper, [], "swirl")
