"""Writing the protected clip: H.264 video, audio packets copied, tags kept, nothing half-way.

The clip is written to a temporary file in the output folder (created exclusively, with an
unpredictable name) and renamed to its final name only once complete; an existing file is only
replaced when asked.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facecloak.errors import FacecloakError
from facecloak.video.media import VideoReader, location_free

logger = logging.getLogger(__name__)

_H264_ENCODERS = ("libx264", "libopenh264", "h264_videotoolbox", "h264_nvenc", "h264_qsv", "h264")


@dataclass(frozen=True)
class EncoderConfig:
    """H.264 settings: ``crf`` (0-51, lower is better quality) and x264's speed ``preset``."""

    crf: int = 20
    preset: str = "veryfast"
    codec: str | None = None
    """Encoder name; ``None`` picks libx264 or the best H.264 encoder this PyAV build has."""


def h264_encoder() -> str:
    """The best H.264 encoder available (``libx264`` in PyAV's wheels)."""
    import av

    for name in _H264_ENCODERS:
        try:
            av.codec.Codec(name, "w")
        except Exception:  # not in this build
            continue
        return name
    raise FacecloakError("this PyAV build has no H.264 encoder; reinstall with `pip install av`")


class VideoWriter:
    """Encodes display-oriented RGB frames into a temporary file beside ``target``."""

    def __init__(
        self, target: Path, reader: VideoReader, config: EncoderConfig, keep_location: bool
    ) -> None:
        import av

        self.target = target
        self.reader = reader
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(
            prefix=f".{target.stem[:40]}.", suffix=f".partial{target.suffix}", dir=target.parent
        )
        os.close(handle)
        self.temporary = Path(name)
        try:
            self.container = av.open(name, "w")
            self.container.metadata.update(location_free(reader.metadata, keep_location))
            self.encoder = config.codec or h264_encoder()
            self.video = self._add_video(config, keep_location)
            self.audio = self._add_audio(keep_location)
        except Exception as exc:
            self.abort()
            raise FacecloakError(f"{target}: cannot write this clip ({exc})") from exc
        self.frames_written = 0

    def _add_video(self, config: EncoderConfig, keep_location: bool):
        source = self.reader.video
        stream = self.container.add_stream(self.encoder, rate=self.reader.rate)
        width, height = self.reader.width, self.reader.height
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p" if width % 2 == 0 and height % 2 == 0 else "yuv444p"
        stream.time_base = source.time_base
        stream.codec_context.time_base = source.time_base
        if self.encoder == "libx264":
            stream.options = {"crf": str(config.crf), "preset": config.preset}
        stream.metadata.update(location_free(dict(source.metadata), keep_location))
        if self.reader.rotation:
            stream.set_display_rotation(self.reader.rotation)
        return stream

    def _add_audio(self, keep_location: bool) -> dict[int, object]:
        copies = {}
        for source in self.reader.audio:
            stream = self.container.add_stream_from_template(source)
            stream.metadata.update(location_free(dict(source.metadata), keep_location))
            copies[source.index] = stream
        return copies

    def write(self, rgb: np.ndarray, pts: int | None) -> None:
        """Encode one display-oriented frame at the input's timestamp ``pts``."""
        import av

        turns = self.reader.rotation // 90
        if turns:
            rgb = np.ascontiguousarray(np.rot90(rgb, -turns))
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        frame.pts = pts if pts is not None else self.frames_written
        frame.time_base = self.reader.video.time_base
        self.container.mux(self.video.encode(frame))
        self.frames_written += 1

    def mux_audio(self, packet) -> None:
        """Copy one input audio packet into the output, bytes unchanged."""
        stream = self.audio.get(packet.stream.index)
        if stream is not None:
            packet.stream = stream
            self.container.mux(packet)

    def finish(self, overwrite: bool) -> Path:
        """Flush the encoder, close the file and move it to its final name."""
        self.container.mux(self.video.encode(None))
        self.container.close()
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(self.temporary, 0o666 & ~umask)
        try:
            if overwrite:
                os.replace(self.temporary, self.target)
            else:
                os.link(self.temporary, self.target)  # fails if the name was taken meanwhile
                self.temporary.unlink()
        except FileExistsError as exc:
            self.temporary.unlink(missing_ok=True)
            raise FacecloakError(
                f"{self.target}: already exists; pass --overwrite to replace it"
            ) from exc
        return self.target

    def abort(self) -> None:
        """Close and delete the temporary file (after an error)."""
        container = getattr(self, "container", None)
        if container is not None:
            with contextlib.suppress(Exception):
                container.close()
        self.temporary.unlink(missing_ok=True)
