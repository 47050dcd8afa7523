"""The recognizers' measurements of a protected face, shared by the identity stages.

A recognizer judges the result as it would in the wild: landmarks are found anew on the
protected photo (and on its JPEG q75 re-encoding) before aligning and embedding. The three
photos and their landmarks (:class:`JudgedViews`) are made once per face and serve both the
stage's own measure and every recognizer's verdict.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from facecloak.faces import Face
from facecloak.faces.landmarks import predict_landmarks
from facecloak.faces.regions import FaceRegion
from facecloak.imaging import jpeg75
from facecloak.models.recognizer import Recognizer
from facecloak.protect.outcomes import FaceOutcome, RecognizerVerdict
from facecloak.quality import image_change, ssimulacra2_score
from facecloak.recognition import resolve_recognizers, shared_recognizer


@dataclass(frozen=True)
class JudgedViews:
    """One face as a scraper would see it: in the original, in the protected photo and in its
    JPEG q75 re-encoding, landmarks found anew on each. Each recognizer embeds them once."""

    photos: tuple[np.ndarray, np.ndarray, np.ndarray]
    faces: tuple[Face, Face, Face]
    _embedded: dict[Recognizer, torch.Tensor] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @classmethod
    def of(cls, original: np.ndarray, protected: np.ndarray, face: Face) -> JudgedViews:
        photos = (original, protected, jpeg75(protected))
        located = [
            Face(face.box, face.score, landmarks=predict_landmarks(p, face.box)) for p in photos
        ]
        return cls(photos, (located[0], located[1], located[2]))

    def distances(self, recognizer: Recognizer) -> tuple[float, float]:
        """``recognizer``'s distance from the original face to the protected one, as saved and
        after JPEG q75."""
        if recognizer not in self._embedded:
            self._embedded[recognizer] = recognizer.embed_each(self.photos, self.faces)
        clean, saved, resaved = self._embedded[recognizer].split(1)
        return (
            float(recognizer.distance(clean, saved)[0]),
            float(recognizer.distance(clean, resaved)[0]),
        )


def measure_identity(
    original: np.ndarray,
    protected: np.ndarray,
    index: int,
    region: FaceRegion,
    recognizer: Recognizer,
    steps: int = 0,
    scale: float = 1.0,
    seconds: float = 0.0,
    views: JudgedViews | None = None,
) -> FaceOutcome:
    """How far ``recognizer`` moved face ``index`` and how much its box changed (``views``:
    the face's :class:`JudgedViews`, made here if not given)."""
    face = region.face
    if views is None:
        views = JudgedViews.of(original, protected, face)
    distance, distance_jpeg75 = views.distances(recognizer)
    change = image_change(original, protected, box=region.face_box)
    return FaceOutcome(
        index=index,
        box=face.box,
        distance=distance,
        distance_jpeg75=distance_jpeg75,
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


def judge_everywhere(
    original: np.ndarray,
    protected: np.ndarray,
    face: Face,
    names: Sequence[str],
    attacked: Sequence[str] = (),
    views: JudgedViews | None = None,
) -> list[RecognizerVerdict]:
    """Each recognizer in ``names`` (``all``: every usable one) compares the protected face
    (as saved and after JPEG q75) with the original, landmarks found anew on each photo
    (``views``: the face's :class:`JudgedViews`, made here if not given)."""
    if views is None:
        views = JudgedViews.of(original, protected, face)
    verdicts = []
    for name in resolve_recognizers(names):
        recognizer = shared_recognizer(name)
        distance, distance_jpeg75 = views.distances(recognizer)
        verdicts.append(
            RecognizerVerdict(
                recognizer=name,
                distance=distance,
                distance_jpeg75=distance_jpeg75,
                threshold=float(recognizer.threshold),
                attacked=name in attacked,
            )
        )
    return verdicts
