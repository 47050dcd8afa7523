"""Exceptions with messages a user can act on."""

from __future__ import annotations


class FacecloakError(Exception):
    """Base class: the message is one line that says what went wrong and what to do."""


class ImageLoadError(FacecloakError):
    """An input image could not be read."""


class NoFaceError(FacecloakError):
    """An image holds no face where one was needed."""


class ModelNotFoundError(FacecloakError):
    """A model's weights are not installed or not where they were looked for."""


class InvalidOptionError(FacecloakError, ValueError):
    """An option or setting has a value outside its choices or range (the CLI exits with 2)."""


class VideoLoadError(FacecloakError):
    """A video could not be read (not a video, damaged, no video stream, unsupported codec)."""
