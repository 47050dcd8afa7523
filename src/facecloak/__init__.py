"""facecloak: protect faces in photos from face recognition and face detection."""

from __future__ import annotations

__version__ = "0.1.0"
