"""Per-face reports of every stage, and the measurement of a covered (blurred, pixelated,
masked) face, which needs neither torch nor a recognizer: a blur run loads neither.

The recognizers' measurements are in :mod:`facecloak.protect.judging`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

import numpy as np

from facecloak.faces import Face
from facecloak.quality import image_change

if TYPE_CHECKING:
    from torch import Tensor

__all__ = [
    "ClassifiedFace",
    "FaceOutcome",
    "HiddenFace",
    "ProtectResult",
    "RecognizerVerdict",
    "measure_covered",
    "rounded_fields",
]


def rounded_fields(outcome: Any) -> dict:
    """A dataclass's fields: floats to 6 decimals, its ``box`` to 0.1 px, plus ``protected``."""
    values = {f.name: getattr(outcome, f.name) for f in fields(outcome) if f.name != "verdicts"}
    values["box"] = [round(v, 1) for v in outcome.box]
    values = {k: round(v, 6) if isinstance(v, float) else v for k, v in values.items()}
    return {**values, "protected": outcome.protected}


@dataclass(frozen=True)
class RecognizerVerdict:
    """Does one recognizer still match the protected face to the original (as saved, and
    after a JPEG q75 re-save)? ``attacked``: the cloak optimised against it (white-box)."""

    recognizer: str
    distance: float
    distance_jpeg75: float
    threshold: float
    attacked: bool

    @property
    def match(self) -> bool:
        return self.distance < self.threshold

    @property
    def match_after_jpeg75(self) -> bool:
        return self.distance_jpeg75 < self.threshold

    def to_dict(self) -> dict:
        return {
            "recognizer": self.recognizer,
            "distance": round(self.distance, 6),
            "distance_jpeg75": round(self.distance_jpeg75, 6),
            "threshold": self.threshold,
            "match": self.match,
            "match_after_jpeg75": self.match_after_jpeg75,
            "attacked": self.attacked,
        }


@dataclass
class FaceOutcome:
    """What protecting one face did (distances: to the clean face's embedding, in the judging
    recognizer's own scale)."""

    index: int
    box: tuple[float, float, float, float]
    distance: float
    distance_jpeg75: float
    threshold: float
    ssim: float
    psnr: float
    l2: float
    linf: float
    steps: int
    cloak_scale: float
    seconds: float
    ssimulacra2: float | None = None
    verdicts: list[RecognizerVerdict] = field(default_factory=list)
    """Per usable recognizer (see :func:`judge_everywhere`); empty when not asked for."""
    verified: bool = True
    """``False``: a covering obfuscation not measured with a recognizer (its distances are 0);
    the face counts as protected because it is covered."""

    @property
    def protected(self) -> bool:
        return not self.verified or self.distance >= self.threshold

    def to_dict(self) -> dict:
        return {
            **rounded_fields(self),
            "protected_after_jpeg75": not self.verified or self.distance_jpeg75 >= self.threshold,
            "verdicts": [verdict.to_dict() for verdict in self.verdicts],
        }


def measure_covered(
    original: np.ndarray, protected: np.ndarray, index: int, face: Face
) -> FaceOutcome:
    """The outcome of a covering obfuscation left unverified: the change of its face box only
    (the detector's box in whole pixels, inside the photo)."""
    height, width = original.shape[:2]
    x0, y0, x1, y1 = (round(v) for v in face.box)
    box = (max(x0, 0), max(y0, 0), min(x1, width), min(y1, height))
    change = image_change(original, protected, box=box)
    return FaceOutcome(
        index=index,
        box=face.box,
        distance=0.0,
        distance_jpeg75=0.0,
        threshold=0.0,
        ssim=change.ssim,
        psnr=change.psnr,
        l2=change.l2,
        linf=change.linf,
        steps=0,
        cloak_scale=1.0,
        seconds=0.0,
        verified=False,
    )


@dataclass
class HiddenFace:
    """What hiding one face did.

    ``score_before`` / ``score_after``: the highest probability the attacked detectors give any
    candidate inside the face box (``found_*``: whether they still report a face there, IoU >= 0.5
    with the original box, on the 8-bit result and after JPEG q75).
    """

    index: int
    box: tuple[float, float, float, float]
    score_before: float
    score_after: float
    found_after: bool
    found_after_jpeg75: bool
    ssim: float
    psnr: float
    l2: float
    linf: float
    steps: int
    seconds: float
    ssimulacra2: float | None = None
    """Of the padded face box (``None`` when the optional ``ssimulacra2`` package is absent)."""

    @property
    def protected(self) -> bool:
        return not self.found_after

    def to_dict(self) -> dict:
        return rounded_fields(self)


@dataclass
class ClassifiedFace:
    """What cloaking one face against a classifier did: its top class before and after (after
    JPEG q75 too), the target if any, quality and effort."""

    index: int
    box: tuple[float, float, float, float]
    before: str
    after: str
    after_jpeg75: str
    target: str | None
    ssim: float
    psnr: float
    l2: float
    linf: float
    steps: int
    seconds: float

    @property
    def protected(self) -> bool:
        return self.after == self.target if self.target else self.after != self.before

    def to_dict(self) -> dict:
        return rounded_fields(self)


@dataclass
class ProtectResult:
    """The protected photo and a report per face and stage."""

    image: np.ndarray
    original: np.ndarray
    faces: list[Face]
    method: str
    settings: dict = field(default_factory=dict)
    outcomes: list[FaceOutcome] = field(default_factory=list)
    """Per face cloaked against recognition (or obfuscated), as the first recognizer sees it."""
    hidden: list[HiddenFace] = field(default_factory=list)
    """Per face hidden from detectors."""
    classified: list[ClassifiedFace] = field(default_factory=list)
    """Per face cloaked against a classifier."""
    latents: dict[int, Tensor] = field(default_factory=dict, repr=False)
    """Each identity-cloaked face's final perturbation, by face index (perceptual attack): give
    it back as ``warm_starts`` to cloak the same face again (the next frame of a clip)."""
    seconds: float = 0.0

    def to_dict(self) -> dict:
        optional = {
            "faces_hidden": [h.to_dict() for h in self.hidden],
            "faces_classified": [c.to_dict() for c in self.classified],
        }
        return {
            "method": self.method,
            "settings": self.settings,
            "faces_found": len(self.faces),
            "faces_protected": [o.to_dict() for o in self.outcomes],
            **{key: value for key, value in optional.items() if value},
            "seconds": round(self.seconds, 3),
        }
