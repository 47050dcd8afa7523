"""What the page shows about a photo: each available recognizer's verdict per face, the visible
change, and the detections before and after; plus "is it still me?" across two photos.

Recognizers and detectors are loaded once per process (:class:`ModelPool`) and shared by every
worker thread (they run in eval mode without gradients to their weights).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import numpy as np

from facecloak.errors import FacecloakError, NoFaceError
from facecloak.faces import Face
from facecloak.models import DEFAULT_DETECTOR, DETECTORS, available_recognizers, detect
from facecloak.models import load_recognizer as _load_recognizer
from facecloak.models.recognizer import Recognizer
from facecloak.quality import image_change, ssimulacra2_score
from facecloak.recognition import embed_with_fresh_landmarks

logger = logging.getLogger(__name__)


class ModelPool:
    """Every recognizer that can load here, loaded on first use and kept."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded: dict[str, Recognizer] = {}
        self._reasons: dict[str, str | None] | None = None

    def reasons(self) -> dict[str, str | None]:
        """Recognizer name -> ``None`` (available) or why it cannot load here."""
        with self._lock:
            if self._reasons is None:
                self._reasons = available_recognizers()
            return dict(self._reasons)

    def recognizer(self, name: str) -> Recognizer:
        with self._lock:
            if name not in self._loaded:
                self._loaded[name] = _load_recognizer(name)
                logger.info("loaded recognizer %s", name)
            return self._loaded[name]

    def warm(self) -> None:
        """Load every available recognizer and the default detector now."""
        self.recognizers()
        detect(np.zeros((64, 64, 3), np.uint8))
        logger.info("models loaded")

    def recognizers(self) -> list[Recognizer]:
        """Every available recognizer (a failing one is logged and left out)."""
        loaded = []
        for name, reason in self.reasons().items():
            if reason is not None:
                continue
            try:
                loaded.append(self.recognizer(name))
            except FacecloakError as exc:
                logger.warning("recognizer %s did not load: %s", name, exc)
        return loaded


@dataclass(frozen=True)
class Detections:
    """The faces a detector finds on one photo, as JSON-ready boxes."""

    detector: str
    boxes: list[dict]

    @classmethod
    def of(cls, faces: list[Face], detector: str) -> Detections:
        return cls(detector, [_box(face) for face in faces])

    def to_dict(self) -> dict:
        return {"detector": self.detector, "faces": self.boxes}


def _box(face: Face) -> dict:
    return {"box": [round(float(v), 1) for v in face.box], "score": round(float(face.score), 4)}


def face_report(
    original: np.ndarray, protected: np.ndarray, index: int, face: Face, pool: ModelPool
) -> dict:
    """One face: each recognizer's verdict (original face vs. protected face) and the change."""
    verdicts = []
    for recognizer in pool.recognizers():
        clean = embed_with_fresh_landmarks(original, face, recognizer)
        after = embed_with_fresh_landmarks(protected, face, recognizer)
        verdict = recognizer.compare(clean[0], after[0])
        verdicts.append({**verdict.to_dict(), "still_matches": verdict.same})
    change = image_change(original, protected, box=face.box)
    score = ssimulacra2_score(original, protected, box=face.box)
    return {
        **_box(face),
        "index": index,
        "verdicts": verdicts,
        "ssim": round(change.ssim, 4),
        "psnr": None if change.psnr == float("inf") else round(change.psnr, 2),
        "ssimulacra2": None if score is None else round(score, 2),
    }


def photo_report(
    original: np.ndarray,
    protected: np.ndarray,
    faces: list[Face],
    pool: ModelPool,
    detector: str = DEFAULT_DETECTOR,
) -> dict:
    """Every face's report plus the detections before and after protection."""
    after = detect(protected, detector=detector, landmarks=False)
    return {
        "width": int(original.shape[1]),
        "height": int(original.shape[0]),
        "faces": [face_report(original, protected, i, f, pool) for i, f in enumerate(faces)],
        "detections_before": Detections.of(faces, detector).to_dict(),
        "detections_after": Detections.of(after, detector).to_dict(),
    }


def detect_report(rgb: np.ndarray, detector: str) -> dict:
    """``POST /detect``: the photo's size and its faces."""
    if detector not in DETECTORS:
        raise ValueError(f"detector={detector!r} is not known: choose from {', '.join(DETECTORS)}")
    faces = detect(rgb, detector=detector, landmarks=False)
    return {"width": int(rgb.shape[1]), "height": int(rgb.shape[0]), "count": len(faces)} | (
        Detections.of(faces, detector).to_dict()
    )


def compare_report(a: np.ndarray, b: np.ndarray, pool: ModelPool) -> dict:
    """``POST /compare``: the largest face of each photo, judged by every available recognizer."""
    face_a, face_b = (_largest(rgb, name) for rgb, name in ((a, "photo a"), (b, "photo b")))
    verdicts = []
    for recognizer in pool.recognizers():
        embed_a = recognizer.embed(a, [face_a])[0]
        embed_b = recognizer.embed(b, [face_b])[0]
        verdict = recognizer.compare(embed_a, embed_b)
        verdicts.append({**verdict.to_dict(), "same_person": verdict.same})
    same = sum(v["same_person"] for v in verdicts)
    return {
        "face_a": _box(face_a),
        "face_b": _box(face_b),
        "verdicts": verdicts,
        "matches": same,
        "recognizers": len(verdicts),
    }


def _largest(rgb: np.ndarray, name: str) -> Face:
    faces = detect(rgb)
    if not faces:
        raise NoFaceError(f"{name}: no face found; use a photo where a face is clearly visible")
    return max(faces, key=lambda face: face.area)
