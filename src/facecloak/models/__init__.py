"""Face models behind one contract per kind: detectors (``detect``) and recognizers
(``load_recognizer``), loaded from their original weight files.

The names below are imported on first use, so that ``import facecloak.models`` (and a command
that only runs CenterFace) does not import torch and every network's code.
"""

from __future__ import annotations

import importlib
from typing import Any

# Imported now (it is light): the function ``detect`` must shadow the module of the same name.
from facecloak.models.detect import (  # noqa: F401
    DEFAULT_DETECTOR,
    centre_face,
    detect,
    find_again,
    largest_face,
)

_LAZY = {
    "DETECTORS": "facecloak.models.detectors",
    "get_detector": "facecloak.models.detectors",
    "Recognizer": "facecloak.models.recognizer",
    "Verdict": "facecloak.models.recognizer",
    "available_recognizers": "facecloak.models.recognizers",
    "known_recognizers": "facecloak.models.recognizers",
    "load_recognizer": "facecloak.models.recognizers",
}

__all__ = sorted(
    [*_LAZY, "DEFAULT_DETECTOR", "centre_face", "detect", "find_again", "largest_face"]
)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'facecloak.models' has no attribute {name!r}")
