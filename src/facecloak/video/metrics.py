"""What a protected clip is judged on, against ground truth: faces left unprotected, mask jitter.

A ground-truth face counts as *visible* on a frame when at least ``min_visible`` of its box is
inside the frame and not occluded; it is *protected* when the masks cover at least ``min_cover``
of the visible pixels of its box (inside the frame, not under the occluder).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from facecloak.video.geometry import Box, iou, to_centre
from facecloak.video.render import DEFAULT_MASK_SCALE, covered
from facecloak.video.synthetic import SyntheticFrame


@dataclass(frozen=True)
class CoverageResult:
    """Frames where some visible face was left unprotected, out of frames with a visible face."""

    unprotected_frames: list[int]
    frames_with_faces: int

    @property
    def count(self) -> int:
        return len(self.unprotected_frames)


def unprotected_frames(
    truth: Sequence[SyntheticFrame],
    boxes: Sequence[list[Box]],
    size: tuple[int, int],
    scale: float = DEFAULT_MASK_SCALE,
    min_visible: float = 0.5,
    min_cover: float = 0.8,
) -> CoverageResult:
    """Frames where a visible ground-truth face is not covered by the protection drawn."""
    width, height = size
    missed, with_faces = [], 0
    for frame, drawn in zip(truth, boxes, strict=True):
        visible = [t for t in frame.truths if t.visible >= min_visible]
        if not visible:
            continue
        with_faces += 1
        mask = covered(drawn, height, width, scale)
        seen = _unoccluded(frame.occluder, height, width)
        for face in visible:
            x0, y0, x1, y1 = (round(v) for v in face.visible_box(width, height))
            part = mask[y0:y1, x0:x1][seen[y0:y1, x0:x1]]
            if part.size and part.mean() < min_cover:
                missed.append(frame.index)
                break
    return CoverageResult(unprotected_frames=missed, frames_with_faces=with_faces)


def _unoccluded(occluder: Box | None, height: int, width: int) -> np.ndarray:
    seen = np.ones((height, width), dtype=bool)
    if occluder is not None:
        x0, y0 = max(0, round(occluder[0])), max(0, round(occluder[1]))
        seen[y0 : round(occluder[3]), x0 : round(occluder[2])] = False
    return seen


def mask_jitter(
    truth: Sequence[SyntheticFrame], boxes: Sequence[list[Box]], min_visible: float = 0.5
) -> float:
    """Mean frame-to-frame change of a face's mask box beyond its true motion, in pixels.

    For each face visible on two consecutive frames, the drawn box matching it best (IoU) on each
    frame is taken; the change of its centre and size is compared with the change of the true box.
    """
    errors: list[float] = []
    previous: dict[str, tuple[Box, Box]] = {}
    for frame, drawn in zip(truth, boxes, strict=True):
        current: dict[str, tuple[Box, Box]] = {}
        for face in frame.truths:
            match = max(drawn, key=lambda box, f=face: iou(box, f.box), default=None)
            if face.visible >= min_visible and match is not None and iou(match, face.box) > 0.3:
                current[face.name] = (face.box, match)
        for name, (true_box, drawn_box) in current.items():
            if name in previous:
                true_before, drawn_before = previous[name]
                true_step = np.subtract(to_centre(true_box), to_centre(true_before))
                drawn_step = np.subtract(to_centre(drawn_box), to_centre(drawn_before))
                errors.append(float(np.abs(drawn_step - true_step).mean()))
        previous = current
    return float(np.mean(errors)) if errors else 0.0
