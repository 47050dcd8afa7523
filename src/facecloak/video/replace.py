"""``--method replace`` on clips: each tracked face gets a generated face, the same new person
along its whole track.

A face that continues one of the previous frame (its box overlaps) keeps that face's random draw
of attributes; a new face gets the next draw. The generator then paints the face anew on every
frame from that frame's landmarks and surroundings, so it follows pose and expression.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facecloak.geometry import SAME_FACE_IOU
from facecloak.video.geometry import Box, carried_over, clip_box

VIDEO_SHAPE_MIX = 1.0
"""A clip's new faces are drawn on the neighbours' mean shape. The anti-face (2, the photos'
default) doubles every frame-to-frame change of that mean, and the new face moves with it: on the
astronaut shifted by 4 px, its pixels changed by 15.5 levels on average between the two frames,
against 11.3 at 1."""
_MIN_REPLACE_SIDE = 20.0


@dataclass(frozen=True)
class ReplaceOptions:
    """``attributes``: ``random``, ``keep`` or ``name=value,...``; ``seed``: the draws;
    ``replacer``: the generator's weights (``None``: the committed ones); ``shape_mix``: see
    :class:`facecloak.obfuscate.replace.ReplaceSettings`. Clips default to the neighbours' mean
    (:data:`VIDEO_SHAPE_MIX`), not the photos' anti-face."""

    attributes: str = "random"
    seed: int = 0
    replacer: Path | None = None
    shape_mix: float = VIDEO_SHAPE_MIX


class FrameReplace:
    """A drawer (``(rgb, boxes) -> rgb``) replacing every box's face with a generated one.

    ``summary()`` counts the face-frames replaced and the new people drawn (one per new track).
    """

    def __init__(self, options: ReplaceOptions | None = None) -> None:
        from facecloak.obfuscate.replace import ReplaceSettings
        from facecloak.replace.checkpoint import load_generator

        options = options or ReplaceOptions()
        self._settings = ReplaceSettings(
            options.attributes, options.seed, shape_mix=options.shape_mix
        )
        self._loaded = load_generator(options.replacer)
        self._previous: list[tuple[Box, int]] = []  # (box, its draw) on the last frame with faces
        self.face_frames = 0
        self.people = 0

    def __call__(self, rgb: np.ndarray, boxes: list[Box]) -> np.ndarray:
        from facecloak.faces import Face
        from facecloak.faces.landmarks import predict_landmarks
        from facecloak.obfuscate.replace import replace_faces

        height, width = rgb.shape[:2]
        inside = [clip_box(box, width, height) for box in boxes]
        inside = [b for b in inside if min(b[2] - b[0], b[3] - b[1]) >= _MIN_REPLACE_SIDE]
        if not inside:
            return rgb
        kept = carried_over(inside, self._previous, SAME_FACE_IOU)
        draws = [kept[i] if i in kept else self._new_person() for i in range(len(inside))]
        faces = [Face(box=b, score=1.0, landmarks=predict_landmarks(rgb, b)) for b in inside]
        result = replace_faces(rgb, faces, self._loaded, self._settings, draws)
        self._previous = list(zip(inside, draws, strict=True))
        self.face_frames += len(inside)
        return result

    def _new_person(self) -> int:
        self.people += 1
        return self.people - 1

    def summary(self) -> dict:
        return {"face_frames": self.face_frames, "people_drawn": self.people}
