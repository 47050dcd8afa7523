"""The recognizers' measurements of a protected face, shared by the identity stages.

A recognizer judges the result as it would in the wild: landmarks are found anew on the
protected photo (and on its JPEG q75 re-encoding) before aligning and embedding.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from facecloak.faces import Face
from facecloak.faces.landmarks import predict_landmarks
from facecloak.faces.regions import FaceRegion
from facecloak.imaging import jpeg75
from facecloak.models.recognizer import Recognizer
from facecloak.protect.outcomes import FaceOutcome, RecognizerVerdict
from facecloak.quality import image_change, ssimulacra2_score
from facecloak.recognition import embed_with_fresh_landmarks, resolve_recognizers, shared_recognizer


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


def judge_everywhere(
    original: np.ndarray,
    protected: np.ndarray,
    face: Face,
    names: Sequence[str],
    attacked: Sequence[str] = (),
) -> list[RecognizerVerdict]:
    """Each recognizer in ``names`` (``all``: every usable one) compares the protected face
    (as saved and after JPEG q75) with the original, landmarks found anew on each photo."""
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
