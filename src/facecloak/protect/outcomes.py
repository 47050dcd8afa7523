"""Per-face reports of every stage, and the one measurement of a face the identity stages share.

A recognizer judges the result as it would in the wild: landmarks are found anew on the
protected photo (and on its JPEG q75 re-encoding) before aligning and embedding.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import torch

from facecloak.faces import Face
from facecloak.faces.landmarks import predict_landmarks
from facecloak.faces.regions import FaceRegion
from facecloak.imaging import jpeg75
from facecloak.models.recognizer import Recognizer
from facecloak.quality import image_change


def rounded_fields(outcome: Any) -> dict:
    """A dataclass's fields: floats to 6 decimals, its ``box`` to 0.1 px, plus ``protected``."""
    values = {f.name: getattr(outcome, f.name) for f in fields(outcome)}
    values["box"] = [round(v, 1) for v in outcome.box]
    values = {k: round(v, 6) if isinstance(v, float) else v for k, v in values.items()}
    return {**values, "protected": outcome.protected}


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

    @property
    def protected(self) -> bool:
        return self.distance >= self.threshold

    def to_dict(self) -> dict:
        return {
            **rounded_fields(self),
            "protected_after_jpeg75": self.distance_jpeg75 >= self.threshold,
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
        psnr=change.psnr,
        l2=change.l2,
        linf=change.linf,
        steps=steps,
        cloak_scale=scale,
        seconds=seconds,
    )


def embed_with_fresh_landmarks(rgb: np.ndarray, face: Face, recognizer: Recognizer) -> torch.Tensor:
    """``(1, D)``: the face's embedding with its landmarks predicted again on ``rgb`` (the
    detector's box is kept, its own keypoints are not: they came from the clean photo)."""
    fresh = Face(face.box, face.score, landmarks=predict_landmarks(rgb, face.box))
    with torch.no_grad():
        return recognizer.embed(rgb, [fresh])
