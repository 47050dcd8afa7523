"""facecloak: protect faces in photos from face recognition and face detection.

The main entry points, importable from the top level (loaded on first use, so ``import facecloak``
stays fast):

>>> import facecloak
>>> recognizer = facecloak.load_recognizer("dlib")  # doctest: +SKIP
>>> faces = facecloak.detect(facecloak.load_image("photo.jpg"))  # doctest: +SKIP
>>> result = facecloak.protect("photo.jpg")  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "detect": "facecloak.models",
    "Face": "facecloak.faces",
    "load_image": "facecloak.images",
    "load_recognizer": "facecloak.models",
}
# ``facecloak.protect`` is the subpackage, made callable: ``facecloak.protect(image, config)``.

__all__ = ["__version__", "protect", *_LAZY]


def __getattr__(name: str) -> Any:
    if name == "protect":  # the subpackage, loaded on first use like the rest
        return importlib.import_module("facecloak.protect")
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'facecloak' has no attribute {name!r}")
