"""Faces in photos: the :class:`Face` result, landmarks, alignment and face regions.

Detectors live in :mod:`facecloak.models` (they are models); this layer holds what every
detector, recognizer and protection step shares about a face.
"""

from __future__ import annotations

from facecloak.faces.face import Face

__all__ = ["Face"]
