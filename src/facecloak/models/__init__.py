"""Face models behind one contract per kind: detectors (``detect``) and recognizers
(``load_recognizer``), loaded from their original weight files."""

from __future__ import annotations

from facecloak.models.detect import DEFAULT_DETECTOR, centre_face, detect, largest_face
from facecloak.models.detectors import DETECTORS, get_detector
from facecloak.models.recognizer import Recognizer, Verdict
from facecloak.models.recognizers import available_recognizers, known_recognizers, load_recognizer

__all__ = [
    "DEFAULT_DETECTOR",
    "DETECTORS",
    "Recognizer",
    "Verdict",
    "available_recognizers",
    "centre_face",
    "detect",
    "get_detector",
    "known_recognizers",
    "largest_face",
    "load_recognizer",
]
