"""The video package's only calls into the photo APIs: detection, obfuscation, the photo cloak,
recognition.

Kept together so that a change of those APIs is adapted here and nowhere else in the package.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facecloak.errors import FacecloakError, NoFaceError
from facecloak.geometry import SAME_FACE_IOU
from facecloak.video.geometry import Box, carried_over, clip_box
from facecloak.video.render import Filter, obfuscate_boxes
from facecloak.video.replace import ReplaceOptions

Detector = Callable[[np.ndarray], list[Box]]
"""``rgb frame -> face boxes`` (frame pixels)."""

Drawer = Callable[[np.ndarray, list[Box]], np.ndarray]
"""``(rgb frame, boxes to protect) -> protected frame``."""

VIDEO_METHODS = ("blur", "pixelate", "mask")
CLOAK_METHODS = ("perceptual", "pgd", "ifgsm", "ifgvm", "pfgvm")
SWAP_METHOD = "swap"
REPLACE_METHOD = "replace"
_MIN_CLOAK_SIDE = 20.0


@dataclass(frozen=True)
class CloakSettings:
    """The photo cloak's settings for ``--method perceptual|pgd|ifgsm|ifgvm|pfgvm`` on clips."""

    strength: str = "mid"
    eps: float | None = None
    """L-inf budget on [0, 1] pixels (``None``: the preset's)."""
    steps: int | None = None
    robust: bool = True
    warm_start: bool = True
    """Start each face's perceptual cloak from its cloak on the previous frame."""


def make_detector(name: str) -> Detector:
    """The photo detector ``name`` as a frame -> boxes function."""
    from facecloak.models.detectors import get_detector

    detector = get_detector(name)

    def boxes(rgb: np.ndarray) -> list[Box]:
        return [tuple(float(v) for v in face.box) for face in detector(rgb)]

    return boxes


def make_drawer(
    method: str,
    mask_scale: float,
    cloak: CloakSettings | None = None,
    donors: Path | None = None,
    replace: ReplaceOptions | None = None,
) -> Drawer:
    """What draws the protection on a frame: a classical obfuscation, the photo cloak, a
    donor's face (``swap``, from the photos in ``donors``) or a generated one (``replace``)."""
    if method in CLOAK_METHODS:
        return FrameCloak(method, cloak or CloakSettings())
    if method == SWAP_METHOD:
        from facecloak.video.swap import FrameSwap

        return FrameSwap(donors)
    if method == REPLACE_METHOD:
        from facecloak.video.replace import FrameReplace

        return FrameReplace(replace)
    apply = obfuscation_filter(method)

    def draw(rgb: np.ndarray, boxes: list[Box]) -> np.ndarray:
        return obfuscate_boxes(rgb, boxes, apply, mask_scale)

    return draw


class FrameCloak:
    """The photo cloak (:func:`facecloak.protect.protect`) on each frame's tracked faces.

    Each face of each frame gets its own attack; with the perceptual attack (and
    ``warm_start``), a face that continues one of the previous frame (its box overlaps) starts
    from that face's perturbation, resized to its new box, and runs a quarter of the preset's
    steps (:data:`~facecloak.protect.identity.WARM_STEP_SHARE`).
    ``summary()`` counts the face-frames cloaked, those no longer matched by the recognizer, the
    attack steps and the face-frames warm-started.
    """

    def __init__(self, method: str, settings: CloakSettings) -> None:
        self.method = method
        self.settings = settings
        self.face_frames = 0
        self.no_longer_matched = 0
        self.steps = 0
        self.warm_started = 0
        self._previous: list[tuple[Box, object]] = []  # (box, its perturbation) on the last frame

    def __call__(self, rgb: np.ndarray, boxes: list[Box]) -> np.ndarray:
        from facecloak.faces import Face
        from facecloak.faces.landmarks import predict_landmarks
        from facecloak.protect import ProtectConfig, protect

        height, width = rgb.shape[:2]
        inside = [clip_box(box, width, height) for box in boxes]
        inside = [box for box in inside if min(box[2] - box[0], box[3] - box[1]) >= _MIN_CLOAK_SIDE]
        if not inside:
            self._previous = []
            return rgb
        faces = [Face(box=b, score=1.0, landmarks=predict_landmarks(rgb, b)) for b in inside]
        config = ProtectConfig(
            method=self.method,
            strength=self.settings.strength,
            eps=self.settings.eps,
            steps=self.settings.steps,
            robust=self.settings.robust,
        )
        starts = self._warm_starts(inside) if self.settings.warm_start else {}
        result = protect(rgb, config, detected=faces, warm_starts=starts)
        self._previous = [(inside[index], latent) for index, latent in result.latents.items()]
        self.face_frames += len(result.outcomes)
        self.no_longer_matched += sum(outcome.protected for outcome in result.outcomes)
        self.steps += sum(outcome.steps for outcome in result.outcomes)
        self.warm_started += len(starts)
        return result.image

    def _warm_starts(self, boxes: list[Box]) -> dict[int, object]:
        """Face index -> the perturbation of the previous frame's face it continues (the one
        it overlaps by :data:`SAME_FACE_IOU`: the boxes come from smoothed tracks, so a face's
        boxes on consecutive frames overlap far more)."""
        return carried_over(boxes, self._previous, SAME_FACE_IOU)

    def summary(self) -> dict:
        return {
            "face_frames": self.face_frames,
            "no_longer_matched": self.no_longer_matched,
            "steps": self.steps,
            "warm_started": self.warm_started,
        }


def obfuscation_filter(method: str) -> Filter:
    """The crop filter of a classical obfuscation (``blur``, ``pixelate``, ``mask``)."""
    from facecloak.obfuscate import OBFUSCATIONS

    if method not in OBFUSCATIONS:
        raise FacecloakError(
            f"--method {method} is not available for video; use one of "
            f"{', '.join((*VIDEO_METHODS, *CLOAK_METHODS, SWAP_METHOD, REPLACE_METHOD))}"
        )
    return OBFUSCATIONS[method]


class IdentityMatcher:
    """Distance of a face in a frame to the people of ``--keep-face`` photos (dlib's recognizer).

    Each photo contributes the embedding of its largest face; a face's distance is the smallest
    to any of them, on the recognizer's scale (same person below :attr:`threshold`).
    """

    def __init__(self, photos: Sequence[Path], detector: str) -> None:
        from facecloak.images import load_image
        from facecloak.recognition import compare_embeddings, default_recognizer, embed_largest_face

        self._recognizer = default_recognizer()
        references = []
        for photo in photos:
            try:
                embedding, _ = embed_largest_face(load_image(photo), detector, self._recognizer)
            except NoFaceError as exc:
                raise NoFaceError(
                    f"{photo}: no face found for --keep-face; give a clear portrait"
                ) from exc
            references.append(embedding)
        self._references = references
        self.threshold = compare_embeddings(references[0], references[0]).threshold

    def distance(self, rgb: np.ndarray, box: Box) -> float:
        """Smallest distance between the face in ``box`` and the reference faces."""
        from facecloak.faces import Face
        from facecloak.faces.landmarks import predict_landmarks
        from facecloak.recognition import compare_embeddings, embed_faces

        face = Face(box=box, score=1.0, landmarks=predict_landmarks(rgb, box))
        embedding = embed_faces(rgb, [face], self._recognizer)[0]
        return min(compare_embeddings(embedding, ref).distance for ref in self._references)
