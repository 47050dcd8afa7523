"""What ``protect_video`` is asked to do (:class:`VideoOptions`) and what it did
(:class:`VideoReport`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from facecloak.video.adapters import CloakSettings
from facecloak.video.geometry import Box
from facecloak.video.render import DEFAULT_MASK_SCALE
from facecloak.video.replace import ReplaceOptions
from facecloak.video.smoothing import SmoothingConfig
from facecloak.video.tracker import TrackerConfig
from facecloak.video.writer import EncoderConfig

DEFAULT_VIDEO_DETECTOR = "centerface"


@dataclass(frozen=True)
class VideoOptions:
    """How a clip is protected.

    Attributes:
        method: ``blur``, ``pixelate``, ``mask``, ``swap`` or ``replace``; or a photo cloak
            (``pgd``, ``ifgsm``, ``ifgvm``, ``pfgvm``) run on every frame's tracked faces with
            ``cloak`` settings.
        detector: photo detector run on the frames.
        detect_every: run the detector on every k-th frame only (tracks bridge the others).
        max_gap: detector runs a face may be missed in a row and still stay protected.
        tracking: ``False`` protects raw detections only (for comparison).
        smoothing_window: half-width in frames of the box smoothing (0: none).
        mask_scale: the ellipse is the face box grown by this factor.
        keep_faces: photos of people to leave unprotected (their tracks are not obfuscated).
        keep_location: keep GPS/location tags (dropped by default).
        overwrite: replace an existing output.
        encoder: H.264 settings.
        progress: show a progress bar.
        max_pixels: refuse clips whose frames are larger (``None``: no limit).
        record_boxes: keep every frame's drawn boxes in the report (tests and benchmarks).
        cloak: settings of the photo cloak when ``method`` is one.
        donors: with ``method="swap"``, the folder of donor photos (each track keeps its donor).
        replace: with ``method="replace"``, the generator's settings (each track keeps its new
            face's attributes).
    """

    method: str = "blur"
    detector: str = DEFAULT_VIDEO_DETECTOR
    detect_every: int = 1
    max_gap: int = 5
    tracking: bool = True
    smoothing_window: int = 3
    mask_scale: float = DEFAULT_MASK_SCALE
    keep_faces: tuple[Path, ...] = ()
    keep_location: bool = False
    overwrite: bool = False
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    progress: bool = True
    max_pixels: int | None = None
    record_boxes: bool = False
    cloak: CloakSettings = field(default_factory=CloakSettings)
    donors: Path | None = None
    replace: ReplaceOptions = field(default_factory=ReplaceOptions)

    @property
    def reach(self) -> int:
        """Frames a track's protection extends past (or before) its detections."""
        if not self.tracking:
            return 0
        return (self.max_gap + 1) * self.detect_every - 1

    def tracker_config(self) -> TrackerConfig:
        return TrackerConfig(max_gap=self.max_gap if self.tracking else 0)

    def smoothing_config(self) -> SmoothingConfig:
        if not self.tracking:
            return SmoothingConfig(window=0, reach=0, size_memory=0.0)
        return SmoothingConfig(window=self.smoothing_window, reach=self.reach)


@dataclass
class VideoReport:
    """What protecting one clip did."""

    input: Path
    output: Path | None
    method: str
    frames: int = 0
    width: int = 0
    height: int = 0
    fps: float = 0.0
    rotation: int = 0
    tracks: int = 0
    tracks_kept: int = 0
    faces_drawn: int = 0
    audio_streams: int = 0
    encoder: str = ""
    seconds: float = 0.0
    cloak: dict | None = None
    boxes: list[list[Box]] = field(default_factory=list, repr=False)

    @property
    def processing_fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict:
        """A JSON-ready summary (without the per-frame boxes)."""
        return {
            "input": str(self.input),
            "output": None if self.output is None else str(self.output),
            "status": "protected",
            "method": self.method,
            "frames": self.frames,
            "size": [self.width, self.height],
            "fps": round(self.fps, 3),
            "rotation": self.rotation,
            "tracks": self.tracks,
            "tracks_kept": self.tracks_kept,
            "faces_drawn": self.faces_drawn,
            "audio_streams_copied": self.audio_streams,
            "encoder": self.encoder,
            "seconds": round(self.seconds, 3),
            "processing_fps": round(self.processing_fps, 2),
            **({"cloak": self.cloak} if self.cloak is not None else {}),
        }
