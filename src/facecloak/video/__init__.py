"""Video: protect every face on every frame of a clip, tracked so none slips through.

Layer: above ``faces``/``obfuscate``/``recognition`` (called only from :mod:`.adapters`), below
``evaluate`` and the interfaces. Decoding and encoding use PyAV; audio is copied packet for packet.

Example:
    >>> from facecloak.video import VideoOptions
    >>> VideoOptions(method="pixelate", detect_every=2).reach
    11
"""

from __future__ import annotations

from facecloak.video.adapters import VIDEO_METHODS
from facecloak.video.media import VIDEO_SUFFIXES, is_video, open_video
from facecloak.video.options import VideoOptions, VideoReport
from facecloak.video.pipeline import protect_video
from facecloak.video.writer import EncoderConfig

__all__ = [
    "VIDEO_METHODS",
    "VIDEO_SUFFIXES",
    "EncoderConfig",
    "VideoOptions",
    "VideoReport",
    "is_video",
    "open_video",
    "protect_video",
]
