"""Test clips made in code from the public-domain sample faces, with ground truth by construction.

Two faces (NASA's astronaut and Grace Hopper) are cut from their stills, pasted on a synthetic
background and moved: the astronaut crosses the frame while zooming in and a grey bar passes over
it; Grace Hopper leaves the frame on the right and comes back. Each face's box (the CenterFace box
of the still, scaled and moved with the sprite) is known on every frame, with the share of it that
is visible (inside the frame and not under the bar). A sine tone makes an AAC audio track.

Run ``python -m facecloak.video.synthetic OUT.mp4 [--seconds S] [--size WxH]`` to write a clip.

Example:
    >>> clip = SceneConfig(width=160, height=120, fps=10, seconds=1.0)
    >>> frames = list(render_frames(clip))
    >>> len(frames), frames[0].rgb.shape, [t.name for t in frames[0].truths]
    (10, (120, 160, 3), ['astronaut', 'grace_hopper'])
"""

from __future__ import annotations

import argparse
import logging
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image

from facecloak.video.geometry import Box, clip_box, intersection_area

logger = logging.getLogger(__name__)

DEFAULT_METADATA = {
    "title": "facecloak synthetic clip",
    "comment": "public-domain faces on a generated background",
    "location": "+48.8584+002.2945/",
}
"""Container tags the clip carries; ``location`` is the GPS tag protection must remove."""


@dataclass(frozen=True)
class SceneConfig:
    """Size, length and extras of a generated clip."""

    width: int = 320
    height: int = 240
    fps: int = 25
    seconds: float = 3.0
    audio: bool = True
    sample_rate: int = 44100
    tone_hz: float = 440.0
    rotation: int = 0
    """Display rotation written to the container (degrees counter-clockwise, 0/90/180/270)."""
    metadata: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_METADATA))

    @property
    def frame_count(self) -> int:
        return round(self.seconds * self.fps)


@dataclass(frozen=True)
class FaceTruth:
    """One face on one frame: its full box (may reach outside the frame) and visible share."""

    name: str
    box: Box
    visible: float

    def visible_box(self, width: int, height: int) -> Box:
        return clip_box(self.box, width, height)


@dataclass(frozen=True)
class SyntheticFrame:
    """A rendered frame and its ground truth."""

    index: int
    rgb: np.ndarray
    truths: list[FaceTruth]
    occluder: Box | None = None


@dataclass(frozen=True)
class _Sprite:
    """A face cut from a still: RGB, soft alpha and the face box inside it (pixels)."""

    rgb: np.ndarray
    alpha: np.ndarray
    face: Box


@dataclass(frozen=True)
class _Actor:
    """A sprite and where its face box centre is and how tall it is at time ``t`` in [0, 1]."""

    name: str
    sprite: Callable[[], _Sprite]
    path: Callable[[float], tuple[float, float, float]]


# CenterFace's box on each still (x0, y0, x1, y1), measured once and fixed here.
_ASTRONAUT_FACE: Box = (182.0, 58.0, 270.0, 178.0)
_HOPPER_FACE: Box = (175.0, 132.0, 357.0, 336.0)


def _cut_sprite(still: np.ndarray, face: Box, margin: float = 0.45) -> _Sprite:
    x0, y0, x1, y1 = face
    pad_x, pad_y = (x1 - x0) * margin, (y1 - y0) * margin
    cx0, cy0 = max(0, int(x0 - pad_x)), max(0, int(y0 - pad_y))
    cx1, cy1 = min(still.shape[1], int(x1 + pad_x)), min(still.shape[0], int(y1 + pad_y))
    rgb = still[cy0:cy1, cx0:cx1]
    ys, xs = np.mgrid[0 : rgb.shape[0], 0 : rgb.shape[1]].astype(np.float32)
    radius = np.hypot(
        (xs - (rgb.shape[1] - 1) / 2) / (rgb.shape[1] / 2),
        (ys - (rgb.shape[0] - 1) / 2) / (rgb.shape[0] / 2),
    )
    alpha = np.clip((1.0 - radius) / 0.15, 0.0, 1.0)
    return _Sprite(rgb=rgb, alpha=alpha, face=(x0 - cx0, y0 - cy0, x1 - cx0, y1 - cy0))


@cache
def _astronaut_sprite() -> _Sprite:
    from facecloak.data import astronaut

    return _cut_sprite(astronaut(), _ASTRONAUT_FACE)


@cache
def _hopper_sprite() -> _Sprite:
    from facecloak.data import grace_hopper

    return _cut_sprite(grace_hopper(), _HOPPER_FACE)


def _astronaut_path(t: float) -> tuple[float, float, float]:
    """Left to right, bobbing, zooming from 0.30 to 0.45 of the frame height."""
    return 0.2 + 0.35 * t, 0.5 + 0.06 * math.sin(2 * math.pi * t), 0.30 + 0.15 * t


def _hopper_path(t: float) -> tuple[float, float, float]:
    """Out of the frame on the right (t 0.25-0.55), then back."""
    x = 0.82 + 0.55 * math.sin(math.pi * min(t / 0.8, 1.0)) ** 2
    return x, 0.42, 0.28


_ACTORS = (
    _Actor("astronaut", _astronaut_sprite, _astronaut_path),
    _Actor("grace_hopper", _hopper_sprite, _hopper_path),
)


def _occluder(t: float, width: int, height: int) -> Box | None:
    """A grey bar crossing the frame from left to right for t in [0.15, 0.55]."""
    if not 0.15 <= t <= 0.55:
        return None
    bar = 0.16 * width
    x0 = -bar + (width + bar) * (t - 0.15) / 0.4
    return (x0, 0.0, x0 + bar, float(height))


def _background(width: int, height: int) -> np.ndarray:
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    red = 60 + 80 * xs / width
    green = 90 + 60 * ys / height
    blue = 120 + 40 * np.sin(xs / 23.0) * np.cos(ys / 31.0)
    return np.clip(np.stack([red, green, blue], axis=-1), 0, 255).astype(np.uint8)


def _place(actor: _Actor, t: float, width: int, height: int) -> tuple[_Sprite, float, Box]:
    """The sprite, its scale and the face box in frame pixels at time ``t``."""
    sprite = actor.sprite()
    cx, cy, face_height = actor.path(t)
    fx0, fy0, fx1, fy1 = sprite.face
    scale = face_height * height / (fy1 - fy0)
    half_w, half_h = (fx1 - fx0) * scale / 2, (fy1 - fy0) * scale / 2
    box = (cx * width - half_w, cy * height - half_h, cx * width + half_w, cy * height + half_h)
    return sprite, scale, box


def _paste(canvas: np.ndarray, sprite: _Sprite, scale: float, face_box: Box) -> None:
    out_w = max(1, round(sprite.rgb.shape[1] * scale))
    out_h = max(1, round(sprite.rgb.shape[0] * scale))
    left = round(face_box[0] - sprite.face[0] * scale)
    top = round(face_box[1] - sprite.face[1] * scale)
    rgb = np.asarray(Image.fromarray(sprite.rgb).resize((out_w, out_h), Image.Resampling.BILINEAR))
    alpha = np.asarray(
        Image.fromarray(sprite.alpha).resize((out_w, out_h), Image.Resampling.BILINEAR)
    )[..., None]
    x0, y0 = max(0, left), max(0, top)
    x1, y1 = min(canvas.shape[1], left + out_w), min(canvas.shape[0], top + out_h)
    if x1 <= x0 or y1 <= y0:
        return
    part = (slice(y0 - top, y1 - top), slice(x0 - left, x1 - left))
    region = canvas[y0:y1, x0:x1].astype(np.float32)
    blended = region * (1 - alpha[part]) + rgb[part].astype(np.float32) * alpha[part]
    canvas[y0:y1, x0:x1] = np.rint(blended).astype(np.uint8)


def _visible_share(box: Box, width: int, height: int, occluder: Box | None) -> float:
    area = (box[2] - box[0]) * (box[3] - box[1])
    inside = clip_box(box, width, height)
    visible = intersection_area(inside, inside)
    if occluder is not None:
        visible -= intersection_area(inside, occluder)
    return max(0.0, visible / area) if area > 0 else 0.0


def render_frames(config: SceneConfig) -> Iterator[SyntheticFrame]:
    """Every frame of the clip with its ground truth, in order."""
    background = _background(config.width, config.height)
    count = config.frame_count
    for index in range(count):
        t = index / max(1, count - 1)
        canvas = background.copy()
        occluder = _occluder(t, config.width, config.height)
        truths = []
        for actor in _ACTORS:
            sprite, scale, face_box = _place(actor, t, config.width, config.height)
            _paste(canvas, sprite, scale, face_box)
            share = _visible_share(face_box, config.width, config.height, occluder)
            truths.append(FaceTruth(actor.name, face_box, share))
        if occluder is not None:
            x0, x1 = max(0, round(occluder[0])), min(config.width, round(occluder[2]))
            canvas[:, x0:x1] = 128
        yield SyntheticFrame(index, canvas, truths, occluder)


def simulated_detector(
    frames: Sequence[SyntheticFrame],
    miss_run: int = 3,
    period: int = 9,
    noise: float = 2.0,
    detect_every: int = 1,
    min_visible: float = 0.5,
) -> Callable[[np.ndarray], list[Box]]:
    """A detector that answers from the ground truth, with deterministic misses and noise.

    Face ``k`` is missed on ``miss_run`` consecutive frames out of every ``period`` (shifted per
    face), and its box corners move by up to ``noise`` pixels. Call it once per detected frame in
    order (every ``detect_every``-th frame); it ignores the pixels it is given.
    """
    calls = iter(range(0, 10**9, detect_every))

    def detect(_rgb: np.ndarray) -> list[Box]:
        index = next(calls)
        rng = np.random.default_rng(index)
        boxes = []
        for k, face in enumerate(frames[index].truths):
            missed = (index + 4 * k) % period < miss_run
            if face.visible >= min_visible and not missed:
                shake = rng.uniform(-noise, noise, size=4)
                boxes.append(tuple(float(v) for v in np.add(face.box, shake)))
        return boxes

    return detect


def tone(config: SceneConfig) -> np.ndarray:
    """The audio track: a quiet sine, ``(samples,)`` float32 in [-1, 1]."""
    samples = round(config.seconds * config.sample_rate)
    phase = 2 * np.pi * config.tone_hz * np.arange(samples) / config.sample_rate
    return (0.3 * np.sin(phase)).astype(np.float32)


def write_clip(path: str | Path, config: SceneConfig | None = None) -> list[SyntheticFrame]:
    """Write the clip (H.264 + AAC in MP4/MOV/MKV by suffix) and return its frames' ground truth.

    The returned frames keep their ground truth but not their pixels (``rgb`` is an empty array).
    """
    import av

    config = config or SceneConfig()
    truths: list[SyntheticFrame] = []
    with av.open(str(path), "w") as container:
        container.metadata.update(config.metadata)
        video = container.add_stream("libx264", rate=Fraction(config.fps))
        video.width, video.height, video.pix_fmt = config.width, config.height, "yuv420p"
        video.options = {"crf": "18", "preset": "veryfast"}
        if config.rotation:
            video.set_display_rotation(config.rotation)
        audio = container.add_stream("aac", rate=config.sample_rate) if config.audio else None
        if audio is not None:
            audio.layout = "mono"
        for frame in render_frames(config):
            encoded = av.VideoFrame.from_ndarray(frame.rgb, format="rgb24")
            container.mux(video.encode(encoded))
            truths.append(
                SyntheticFrame(frame.index, np.empty(0, np.uint8), frame.truths, frame.occluder)
            )
        container.mux(video.encode(None))
        if audio is not None:
            _write_tone(container, audio, tone(config), config.sample_rate)
    logger.info("wrote %s (%d frames)", path, len(truths))
    return truths


def _write_tone(container, stream, samples: np.ndarray, rate: int) -> None:
    import av

    chunk = 1024
    for start in range(0, len(samples), chunk):
        part = samples[start : start + chunk][None, :]
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(part), format="fltp", layout="mono")
        frame.sample_rate, frame.pts = rate, start
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


def main(argv: list[str] | None = None) -> int:
    """``python -m facecloak.video.synthetic OUT.mp4``: write a generated test clip."""
    parser = argparse.ArgumentParser(prog="python -m facecloak.video.synthetic")
    parser.add_argument("output", type=Path, help="the clip to write (.mp4, .mov or .mkv)")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--size", default="320x240", help="WxH (default 320x240)")
    parser.add_argument("--fps", type=int, default=25)
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    config = SceneConfig(width=width, height=height, fps=args.fps, seconds=args.seconds)
    frames = write_clip(args.output, config)
    print(f"{args.output}: {len(frames)} frames, {width}x{height} at {args.fps} fps, with audio")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
