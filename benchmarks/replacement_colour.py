"""Issue 11 check: does matching the new face's colours on the face itself (the default: the Lab
mean inside the ellipses) give away more identity than matching them on a ring just outside the
ellipse (the earlier way, which took in hair and collars and left faces dark or olive)?

Runs ``replace`` on the LFW set and the held-out set of ``benchmarks/replacement.py`` both ways
with the committed generator and prints each run's rates (nothing is written). Under the shared
lock, on a quiet machine:
``flock /tmp/facecloak-bench.lock python benchmarks/replacement_colour.py``.
"""

from __future__ import annotations

import cv2
import numpy as np

import facecloak.obfuscate.replace as replace_module
import replacement as bench
from _report import require_shared_faces
from facecloak.models import available_recognizers, load_recognizer
from facecloak.obfuscate.swap import transfer_colour
from facecloak.protect import ProtectConfig

FACE_MEAN = replace_module.match_lighting


def ring_colour(
    new_face: np.ndarray, new_inside: np.ndarray, original: np.ndarray, original_inside: np.ndarray
) -> np.ndarray:
    """The earlier colour match: Lab mean and spread on a 6 px ring outside the ellipses (the
    ellipses rebuilt from their insides, which lie a 4 px seam in from their edges)."""
    union = cv2.dilate((new_inside | original_inside).astype(np.uint8), np.ones((9, 9), np.uint8))
    ring = cv2.dilate(union, np.ones((13, 13), np.uint8)) - union
    return transfer_colour(new_face, original, ring)


def main() -> None:
    faces_dir = require_shared_faces()
    lfw = bench.subjects(faces_dir / "lfw", 100)
    unseen = {k: v for k, v in bench.held_out_subjects(faces_dir).items() if k not in lfw}
    names = [name for name, reason in available_recognizers().items() if reason is None]
    recognizers = [load_recognizer(name) for name in names]

    def centre(found, rgb):
        return bench.centre_face(found, rgb.shape[1], rgb.shape[0])

    methods = {"replace": ProtectConfig(method="replace")}
    for set_name, groups in (("LFW", lfw), ("held out", unseen)):
        faces = bench.clean_faces(groups, centre)
        for variant, colour in (("face mean", FACE_MEAN), ("ring", ring_colour)):
            replace_module.match_lighting = colour
            bench.run_dataset(f"{set_name}, colour on the {variant}:", faces, methods, recognizers)


if __name__ == "__main__":
    main()
