"""Protect photos: cloak faces against recognition and hide them from detectors, at full
resolution. ``protect(image, ProtectConfig(...))`` is the entry point.

The package itself is callable, so ``facecloak.protect(image)`` works as well as
``facecloak.protect.protect(image)``, while ``facecloak.protect.<module>`` imports stay as they are.
"""

from __future__ import annotations

import sys
import types
from typing import Any

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


class _CallablePackage(types.ModuleType):
    """``facecloak.protect(...)`` calls :func:`facecloak.protect.pipeline.protect`."""

    def __call__(self, *args: Any, **kwargs: Any) -> ProtectResult:
        return protect(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
