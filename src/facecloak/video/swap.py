"""``--method swap`` on clips: each tracked face gets a donor's face, the same donor on every
frame of its track.

A face that continues one of the previous frame (its box overlaps) keeps that face's donor; a new
face gets the donor :meth:`~facecloak.obfuscate.donors.DonorIndex.choose` picks for it (pose,
mouth, skin tone and glasses alike, the most distant by embedding). The donor is then warped onto
the face's 68 landmarks on every frame, so it follows pose and expression.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from facecloak.errors import FacecloakError
from facecloak.geometry import SAME_FACE_IOU
from facecloak.video.geometry import Box, carried_over, clip_box

_MIN_SWAP_SIDE = 20.0


class FrameSwap:
    """A drawer (``(rgb, boxes) -> rgb``) swapping every box's face for a donor's.

    ``summary()`` counts the face-frames swapped, the donors chosen (one per new face) and the
    distinct donors used.
    """

    def __init__(self, donors: Path | None) -> None:
        from facecloak.obfuscate.donors import index_donors
        from facecloak.recognition import default_recognizer

        if donors is None:
            raise FacecloakError("--method swap needs --donors DIR (photos of people who agreed)")
        self._recognizer = default_recognizer()
        self._donors = index_donors(donors, self._recognizer)
        self._previous: list[tuple[Box, int]] = []  # (box, its donor) on the last frame with faces
        self.face_frames = 0
        self.choices = 0
        self._used: set[int] = set()

    def __call__(self, rgb: np.ndarray, boxes: list[Box]) -> np.ndarray:
        from facecloak.faces.landmarks import predict_landmarks_68
        from facecloak.obfuscate.swap import swap_face

        height, width = rgb.shape[:2]
        inside = [clip_box(box, width, height) for box in boxes]
        inside = [box for box in inside if min(box[2] - box[0], box[3] - box[1]) >= _MIN_SWAP_SIDE]
        if not inside:
            return rgb
        kept = carried_over(inside, self._previous, SAME_FACE_IOU)
        result = rgb
        donors = []
        for index, box in enumerate(inside):
            points = predict_landmarks_68(rgb, box)
            donor = kept[index] if index in kept else self._choose(rgb, box, points)
            result = swap_face(
                result,
                points,
                self._donors.photo(donor),
                self._donors.points[donor],
                limit=_working_area(box, width, height),
            )
            donors.append(donor)
        self._previous = list(zip(inside, donors, strict=True))
        self.face_frames += len(inside)
        self._used.update(donors)
        return result

    def _choose(self, rgb: np.ndarray, box: Box, points: np.ndarray) -> int:
        from facecloak.faces import Face
        from facecloak.faces.landmarks import predict_landmarks
        from facecloak.faces.traits import measure_traits

        face = Face(box=box, score=1.0, landmarks=predict_landmarks(rgb, box))
        embedding = self._recognizer.embed(rgb, [face])[0]
        self.choices += 1
        return self._donors.choose(measure_traits(rgb, points), embedding, self._recognizer)

    def summary(self) -> dict:
        return {
            "face_frames": self.face_frames,
            "donors_chosen": self.choices,
            "distinct_donors": len(self._used),
        }


def _working_area(box: Box, width: int, height: int) -> tuple[int, int, int, int]:
    """The face box grown by half its size each way (room for the forehead and the seam)."""
    x0, y0, x1, y1 = box
    grow_x, grow_y = (x1 - x0) / 2, (y1 - y0) / 2
    return (
        max(0, round(x0 - grow_x)),
        max(0, round(y0 - grow_y)),
        min(width, round(x1 + grow_x)),
        min(height, round(y1 + grow_y)),
    )
