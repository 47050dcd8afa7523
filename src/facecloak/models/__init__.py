"""Differentiable face models (recognizers) loaded from their original weight files."""

from __future__ import annotations

from facecloak.models.recognizer import Recognizer, Verdict
from facecloak.models.recognizers import available_recognizers, known_recognizers, load_recognizer

__all__ = ["Recognizer", "Verdict", "available_recognizers", "known_recognizers", "load_recognizer"]
