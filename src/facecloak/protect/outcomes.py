"""Per-face reports of every stage, and the one measurement of a face the identity stages share.

A recognizer judges the result as it would in the wild: landmarks are found anew on the
protected photo (and on its JPEG q75 re-encoding) before aligning and embedding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from facecloak.faces import Face
from facecloak.faces.landmarks import predict_landmarks
from facecloak.faces.regions import FaceRegion
from facecloak.imaging import jpeg75
from facecloak.models.recognizer import Recognizer
from facecloak.quality import image_change, ssimulacra2_score
from facecloak.recognition import embed_with_fresh_landmarks, shared_recognizer

__all__ = ["FaceOutcome", "RecognizerVerdict", "embed_with_fresh_landmarks", "measure_identity"]


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


def measure_identity(
    original: np.ndarray,
    protected: np.ndarray,
    index: int,
    region: FaceRegion,
    recognizer: Recognizer,
    steps: int = 0,
    scale: float = 1.0,
    seconds: float = 0.0,
) -> FaceOutcome:
    """How far ``recognizer`` moved face ``index`` and how much its box changed."""
    face = region.face
    clean = embed_with_fresh_landmarks(original, face, recognizer)
    after = embed_with_fresh_landmarks(protected, face, recognizer)
    after_jpeg = embed_with_fresh_landmarks(jpeg75(protected), face, recognizer)
    change = image_change(original, protected, box=region.face_box)
    return FaceOutcome(
        index=index,
        box=face.box,
        distance=float(recognizer.distance(clean, after)[0]),
        distance_jpeg75=float(recognizer.distance(clean, after_jpeg)[0]),
        threshold=float(recognizer.threshold),
        ssim=change.ssim,
        ssimulacra2=ssimulacra2_score(original, protected, box=region.face_box),
        psnr=change.psnr,
        l2=change.l2,
        linf=change.linf,
        steps=steps,
        cloak_scale=scale,
        seconds=seconds,
    )


def measure_covered(
    original: np.ndarray, protected: np.ndarray, index: int, region: FaceRegion
) -> FaceOutcome:
    """The outcome of a covering obfuscation left unverified: the change of its face box only."""
    change = image_change(original, protected, box=region.face_box)
    return FaceOutcome(
        index=index,
        box=region.face.box,
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


def judge_everywhere(
    original: np.ndarray,
    protected: np.ndarray,
    face: Face,
    names: Sequence[str],
    attacked: Sequence[str] = (),
) -> list[RecognizerVerdict]:
    """Each recognizer in ``names`` (``all``: every usable one) compares the protected face
    (as saved and after JPEG q75) with the original, landmarks found anew on each photo."""
    from facecloak.recognition import resolve_recognizers

    photos = [original, protected, jpeg75(protected)]
    located = [Face(face.box, face.score, landmarks=predict_landmarks(p, face.box)) for p in photos]
    verdicts = []
    for name in resolve_recognizers(names):
        recognizer = shared_recognizer(name)
        clean, saved, resaved = (
            recognizer.embed(p, [f]) for p, f in zip(photos, located, strict=True)
        )
        verdicts.append(
            RecognizerVerdict(
                recognizer=name,
                distance=float(recognizer.distance(clean, saved)[0]),
                distance_jpeg75=float(recognizer.distance(clean, resaved)[0]),
                threshold=float(recognizer.threshold),
                attacked=name in attacked,
            )
        )
    return verdicts
