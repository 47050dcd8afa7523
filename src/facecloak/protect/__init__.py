"""Protect photos: cloak faces against recognition at full resolution."""

from __future__ import annotations

from facecloak.protect.pipeline import (
    ATTACK_METHODS,
    CLASSICAL_METHODS,
    FaceOutcome,
    ProtectResult,
    protect,
)
from facecloak.protect.presets import DEFAULT_STRENGTH, PRESETS, Strength, get_strength

__all__ = [
    "ATTACK_METHODS",
    "CLASSICAL_METHODS",
    "DEFAULT_STRENGTH",
    "PRESETS",
    "FaceOutcome",
    "ProtectResult",
    "Strength",
    "get_strength",
    "protect",
]
