"""Protect photos: cloak faces against recognition and hide them from detectors, at full
resolution. ``protect(image, ProtectConfig(...))`` is the entry point.

The package itself is callable, so ``facecloak.protect(image)`` works as well as
``facecloak.protect.protect(image)``, while ``facecloak.protect.<module>`` imports stay as they are.
Its names are imported when first used: a blur never imports torch or the attacks.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

_HOMES = {
    "AGAINST": "config",
    "ATTACK_METHODS": "config",
    "CLASSICAL_METHODS": "config",
    "DEFAULT_EVASION": "config",
    "ProtectConfig": "config",
    "DEFAULT_STRENGTH": "presets",
    "PRESETS": "presets",
    "Strength": "presets",
    "get_strength": "presets",
    "EVASION_DETECTORS": "evasion_settings",
    "EvasionSettings": "evasion_settings",
    "HiddenFace": "outcomes",
    "hide_faces": "evasion",
    "FaceOutcome": "outcomes",
    "ProtectResult": "pipeline",
    "protect": "pipeline",
    "select_faces": "pipeline",
}
__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})


class _CallablePackage(types.ModuleType):
    """``facecloak.protect(...)`` calls :func:`facecloak.protect.pipeline.protect`."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.protect(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
