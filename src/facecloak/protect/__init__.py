"""Protect photos: cloak faces against recognition and hide them from detectors, at full
resolution. ``protect(image, ProtectConfig(...))`` is the entry point."""

from __future__ import annotations

from facecloak.protect.config import (
    AGAINST,
    ATTACK_METHODS,
    CLASSICAL_METHODS,
    DEFAULT_EVASION,
    ProtectConfig,
)
from facecloak.protect.evasion import EVASION_DETECTORS, EvasionSettings, HiddenFace, hide_faces
from facecloak.protect.outcomes import FaceOutcome
from facecloak.protect.pipeline import ProtectResult, protect, select_faces
from facecloak.protect.presets import DEFAULT_STRENGTH, PRESETS, Strength, get_strength

__all__ = [
    "AGAINST",
    "ATTACK_METHODS",
    "CLASSICAL_METHODS",
    "DEFAULT_EVASION",
    "DEFAULT_STRENGTH",
    "EVASION_DETECTORS",
    "PRESETS",
    "EvasionSettings",
    "FaceOutcome",
    "HiddenFace",
    "ProtectConfig",
    "ProtectResult",
    "Strength",
    "get_strength",
    "hide_faces",
    "protect",
    "select_faces",
]
