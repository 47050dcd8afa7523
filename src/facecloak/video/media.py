"""Reading and writing clips with PyAV: probe, decode to RGB, encode H.264, copy audio packets.

Frames are handed out in display orientation (the container's rotation applied) and turned back
before encoding, so the output keeps the input's pixel layout and its rotation flag. Audio packets
are copied as they are (remuxed, not re-encoded). Container tags are kept except location/GPS
ones (unless asked), as photos lose their EXIF GPS.

Example:
    >>> is_video("README.md")
    False
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from facecloak.errors import VideoLoadError

logger = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi")
"""Suffixes looked at inside folders (files named on the command line are probed whatever
their name)."""

_LOCATION_WORDS = ("location", "gps", "xyz")
_ATTACHED_PICTURE = 1024  # AV_DISPOSITION_ATTACHED_PIC: cover art, not the clip
_MUXER_TAGS = ("major_brand", "minor_version", "compatible_brands", "encoder")


def _still_image_format(name: str) -> bool:
    """Image demuxers open photos as one-frame 'videos': those are photos, not clips."""
    return name.endswith("_pipe") or name in ("image2", "gif", "apng")


def location_free(tags: dict[str, str], keep_location: bool = False) -> dict[str, str]:
    """Tags worth copying: muxer bookkeeping dropped, location/GPS dropped unless kept.

    >>> location_free({"title": "a", "location": "+48+002/", "location-eng": "+48+002/"})
    {'title': 'a'}
    """
    kept = {}
    for key, value in tags.items():
        lowered = key.lower()
        if lowered in _MUXER_TAGS:
            continue
        if not keep_location and any(word in lowered for word in _LOCATION_WORDS):
            continue
        kept[key] = value
    return kept


def is_video(path: str | Path) -> bool:
    """Whether ``path`` opens as a clip with a video stream (photos and other files: no)."""
    try:
        import av

        with av.open(str(path)) as container:
            return not _still_image_format(container.format.name) and bool(container.streams.video)
    except Exception:  # any failure to open means "not a video we can take"
        return False


@dataclass
class DecodedFrame:
    """One decoded frame: its index, display-oriented RGB pixels and timestamp."""

    index: int
    rgb: np.ndarray
    pts: int | None


@dataclass
class VideoReader:
    """An opened input clip; ``frames()`` decodes it, ``on_audio`` receives its audio packets."""

    path: Path
    container: object = field(repr=False)
    video: object = field(repr=False)
    audio: list = field(repr=False)
    rotation: int = 0

    @property
    def width(self) -> int:
        return int(self.video.codec_context.width)

    @property
    def height(self) -> int:
        return int(self.video.codec_context.height)

    @property
    def rate(self) -> Fraction:
        rate = self.video.average_rate or self.video.guessed_rate or self.video.base_rate
        return Fraction(rate) if rate else Fraction(25)

    @property
    def frame_count(self) -> int:
        """Frames the header announces (0 when it does not say); estimated from the duration."""
        if self.video.frames:
            return int(self.video.frames)
        duration = self.container.duration  # microseconds
        return round(duration / 1e6 * float(self.rate)) if duration else 0

    @property
    def metadata(self) -> dict[str, str]:
        return dict(self.container.metadata)

    def frames(self, on_audio: Callable[[object], None] | None = None) -> Iterator[DecodedFrame]:
        """Decode every frame in order; audio packets go to ``on_audio`` as they are read."""
        import av

        index = 0
        streams = [self.video, *(self.audio if on_audio else [])]
        try:
            for packet in self.container.demux(*streams):
                if packet.stream.type == "audio":
                    if packet.dts is not None and packet.size:
                        on_audio(packet)
                    continue
                for frame in packet.decode():
                    yield self._decoded(index, frame)
                    index += 1
        except av.error.FFmpegError as exc:
            raise VideoLoadError(
                f"{self.path}: damaged video ({_reason(exc)}) after {index} frames; "
                "re-export or repair the file"
            ) from exc
        announced = int(self.video.frames or 0)
        if announced and index < announced:
            raise VideoLoadError(
                f"{self.path}: truncated video (decoded {index} of {announced} frames); "
                "copy the complete file again"
            )

    def frames_from(self, start: int) -> Iterator[DecodedFrame]:
        """Frames ``start``, ``start + 1``, ... without decoding the clip from its beginning.

        Seeks to the keyframe before ``start`` and numbers frames by their timestamps (exact for
        constant frame rates, the frame nearest in time otherwise). No audio.
        """
        import av

        if start <= 0:
            yield from self.frames()
            return
        stream, rate = self.video, self.rate
        first = stream.start_time or 0
        self.container.seek(first + int(start / rate / stream.time_base), stream=stream)
        index = start - 1
        try:
            for frame in self.container.decode(stream):
                if frame.pts is None:
                    index += 1
                else:
                    index = round((frame.pts - first) * stream.time_base * rate)
                if index >= start:
                    yield self._decoded(index, frame)
        except av.error.FFmpegError as exc:
            raise VideoLoadError(
                f"{self.path}: damaged video ({_reason(exc)}); re-export or repair the file"
            ) from exc

    def _decoded(self, index: int, frame) -> DecodedFrame:
        rgb = frame.to_ndarray(format="rgb24")
        turns = self.rotation // 90
        if turns:
            rgb = np.ascontiguousarray(np.rot90(rgb, turns))
        return DecodedFrame(index=index, rgb=rgb, pts=frame.pts)

    def close(self) -> None:
        self.container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def open_video(path: str | Path) -> VideoReader:
    """Open ``path`` for decoding; every failure is a one-line :class:`VideoLoadError`."""
    import av

    path = Path(path)
    if not path.is_file():
        raise VideoLoadError(f"{path}: no such file; check the path")
    try:
        container = av.open(str(path))
    except av.error.FFmpegError as exc:
        raise VideoLoadError(
            f"{path}: not a readable video, or a truncated one ({_reason(exc)}); "
            "give a complete MP4, MOV, MKV or WebM clip"
        ) from exc
    try:
        return _checked_reader(path, container)
    except Exception:
        container.close()
        raise


def _checked_reader(path: Path, container) -> VideoReader:
    videos = [s for s in container.streams.video if not int(s.disposition) & _ATTACHED_PICTURE]
    if _still_image_format(container.format.name) or not videos:
        kind = "an audio-only file" if container.streams.audio else "a file with no video stream"
        raise VideoLoadError(f"{path}: {kind}; give a clip with a video stream")
    video = videos[0]
    dropped = [s for s in container.streams if s is not video and s.type != "audio"]
    if dropped:
        kinds = ", ".join(sorted({s.type for s in dropped}))
        logger.warning("%s: %d other stream(s) (%s) are not copied", path, len(dropped), kinds)
    if video.codec_context is None or not video.codec_context.is_decoder:
        raise VideoLoadError(
            f"{path}: unsupported video codec; convert it to H.264 (e.g. with ffmpeg) first"
        )
    video.thread_type = "AUTO"
    rotation = _first_rotation(path, container, video)
    container.seek(0)
    audio = list(container.streams.audio)
    return VideoReader(path=path, container=container, video=video, audio=audio, rotation=rotation)


def _first_rotation(path: Path, container, video) -> int:
    """Decode the first frame (to fail early on undecodable clips) and read its rotation."""
    import av

    try:
        for frame in container.decode(video):
            return round(frame.rotation / 90.0) % 4 * 90
    except av.error.FFmpegError as exc:
        raise VideoLoadError(
            f"{path}: cannot decode its video ({_reason(exc)}); convert it to H.264 first"
        ) from exc
    raise VideoLoadError(f"{path}: the video stream holds no frame; give a complete clip")


def _reason(exc: Exception) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return str(text).splitlines()[0].rstrip(".")
