"""Differentiable face models (recognizers) loaded from their original weight files."""

from __future__ import annotations

from facecloak.models.recognizers import load_recognizer

__all__ = ["load_recognizer"]
