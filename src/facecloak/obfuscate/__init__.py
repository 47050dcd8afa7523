"""Obfuscation that a person can see: blur, pixelate, mask."""

from __future__ import annotations

from facecloak.obfuscate.classical import OBFUSCATIONS, obfuscate_faces

__all__ = ["OBFUSCATIONS", "obfuscate_faces"]
