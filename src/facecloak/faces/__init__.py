"""Face detection, landmarks and alignment."""

from __future__ import annotations

from facecloak.faces.detect import DEFAULT_DETECTOR, detect, largest_face
from facecloak.faces.detectors import DETECTORS, get_detector
from facecloak.faces.face import Face

__all__ = ["DEFAULT_DETECTOR", "DETECTORS", "Face", "detect", "get_detector", "largest_face"]
