"""``protect_video``: decode, detect and track, obfuscate, encode, with the stages overlapping.

A decoding thread and an encoding thread run beside the detection/tracking loop, joined by
bounded queues (so memory stays flat however long the clip); audio packets travel from the
decoder to the muxer untouched.

Example:
    >>> from facecloak.video import VideoOptions, protect_video
    >>> report = protect_video("clip.mp4", "out.mp4", VideoOptions(method="blur"))  # doctest: +SKIP
    >>> report.to_dict()["frames"]  # doctest: +SKIP
    75
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path

from tqdm import tqdm

from facecloak.errors import FacecloakError, VideoLoadError
from facecloak.video.adapters import Detector, Drawer, IdentityMatcher, make_detector, make_drawer
from facecloak.video.media import VideoReader, open_video
from facecloak.video.options import VideoOptions, VideoReport
from facecloak.video.stage import TrackingStage
from facecloak.video.writer import VideoWriter

logger = logging.getLogger(__name__)

_QUEUE_FRAMES = 8
_END = object()


class _Failure:
    """An exception raised in a worker thread, carried to the main thread."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


def protect_video(
    src: str | Path,
    dst: str | Path,
    options: VideoOptions | None = None,
    detector: Detector | None = None,
) -> VideoReport:
    """Protect every face of every frame of ``src`` into ``dst`` (H.264, audio copied).

    ``detector`` replaces the photo detector named in ``options`` (tests, benchmarks).

    Raises:
        VideoLoadError: ``src`` is not a readable clip.
        FacecloakError: bad options or ``dst`` exists without ``overwrite``; nothing is written.
    """
    options = options or VideoOptions()
    src, dst = Path(src), Path(dst)
    _check_paths(src, dst, options.overwrite)
    draw = make_drawer(
        options.method, options.mask_scale, options.cloak, options.donors, options.replace
    )
    with open_video(src) as reader:
        _check_size(reader, options.max_pixels)
        detector = detector or make_detector(options.detector)
        stage = TrackingStage(options, detector, keep_face_matcher(options))
        writer = VideoWriter(dst, reader, options.encoder, options.keep_location)
        started = time.perf_counter()
        try:
            report = _run(reader, writer, stage, draw, options)
            writer.finish(options.overwrite)
        except BaseException:
            writer.abort()
            raise
    report.output, report.encoder = dst, writer.encoder
    report.seconds = time.perf_counter() - started
    report.tracks, report.tracks_kept = stage.track_count, stage.kept_tracks
    summary = getattr(draw, "summary", None)
    report.cloak = summary() if summary is not None else None
    logger.info("%s -> %s: %d frames, %d tracks", src, dst, report.frames, report.tracks)
    return report


def _check_paths(src: Path, dst: Path, overwrite: bool) -> None:
    if dst.exists() and src.exists() and dst.resolve() == src.resolve():
        raise FacecloakError(f"{dst}: would overwrite the input clip; choose another output")
    if dst.exists() and not overwrite:
        raise FacecloakError(f"{dst}: already exists; pass --overwrite to replace it")


def _check_size(reader: VideoReader, max_pixels: int | None) -> None:
    pixels = reader.width * reader.height
    if max_pixels and pixels > max_pixels:
        raise VideoLoadError(
            f"{reader.path}: frames of {reader.width}x{reader.height} exceed the "
            f"{max_pixels} pixel limit; raise it with --max-pixels"
        )


def keep_face_matcher(options: VideoOptions) -> IdentityMatcher | None:
    """The ``--keep-face`` matcher, or ``None`` when every face is to be protected."""
    if not options.keep_faces:
        return None
    return IdentityMatcher(options.keep_faces, options.detector)


def _run(
    reader: VideoReader,
    writer: VideoWriter,
    stage: TrackingStage,
    draw: Drawer,
    options: VideoOptions,
) -> VideoReport:
    report = VideoReport(
        input=reader.path,
        output=None,
        method=options.method,
        width=reader.width,
        height=reader.height,
        fps=float(reader.rate),
        rotation=reader.rotation,
        audio_streams=len(writer.audio),
    )
    stop = threading.Event()
    decoded: queue.Queue = queue.Queue(_QUEUE_FRAMES)
    encoded: queue.Queue = queue.Queue(_QUEUE_FRAMES)
    audio: queue.Queue = queue.Queue()
    decoder = _worker(_decode, reader, decoded, audio, stop)
    encoder = _worker(_encode, writer, encoded, audio, stop)
    total = reader.frame_count or None
    bar = tqdm(
        total=total, unit="frame", desc=reader.path.name, disable=not options.progress, leave=False
    )
    try:
        _detect_and_draw(stage, draw, options, decoded, encoded, report, bar, stop)
        _put(encoded, _END, stop)
        encoder.join()
    finally:
        stop.set()
        bar.close()
        decoder.join()
        encoder.join()
    for failure in (decoder.failure, encoder.failure):
        if failure is not None:
            raise failure
    return report


def _detect_and_draw(
    stage: TrackingStage,
    draw: Drawer,
    options: VideoOptions,
    decoded: queue.Queue,
    encoded: queue.Queue,
    report: VideoReport,
    bar: tqdm,
    stop: threading.Event,
) -> None:
    def emit(ready: list) -> None:
        for frame, boxes in ready:
            rgb = draw(frame.rgb, boxes) if boxes else frame.rgb
            _put(encoded, (rgb, frame.pts), stop)
            report.frames += 1
            report.faces_drawn += len(boxes)
            if options.record_boxes:
                report.boxes.append(boxes)
            bar.update(1)

    while True:
        item = _get(decoded, stop)
        if item is None:
            return  # a worker failed: _run raises its error
        if item is _END:
            break
        if isinstance(item, _Failure):
            raise item.error
        emit(stage.push(item))
    emit(stage.flush())


class _Thread(threading.Thread):
    failure: BaseException | None = None


def _worker(target: Callable, *args) -> _Thread:
    def run() -> None:
        try:
            target(*args)
        except BaseException as exc:  # carried to the main thread, re-raised there
            thread.failure = exc
            args[-1].set()

    thread = _Thread(target=run, daemon=True, name=target.__name__.strip("_"))
    thread.start()
    return thread


def _decode(
    reader: VideoReader, decoded: queue.Queue, audio: queue.Queue, stop: threading.Event
) -> None:
    try:
        for frame in reader.frames(on_audio=audio.put):
            if not _put(decoded, frame, stop):
                return
    except BaseException as exc:
        _put(decoded, _Failure(exc), stop)
        return
    _put(decoded, _END, stop)


def _encode(
    writer: VideoWriter, encoded: queue.Queue, audio: queue.Queue, stop: threading.Event
) -> None:
    while True:
        item = _get(encoded, stop)
        _mux_pending_audio(writer, audio)
        if item is _END or item is None:
            return
        writer.write(*item)


def _mux_pending_audio(writer: VideoWriter, audio: queue.Queue) -> None:
    while True:
        try:
            writer.mux_audio(audio.get_nowait())
        except queue.Empty:
            return


def _put(target: queue.Queue, item: object, stop: threading.Event) -> bool:
    """Put ``item``, giving up (``False``) once ``stop`` is set."""
    while not stop.is_set():
        try:
            target.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def _get(source: queue.Queue, stop: threading.Event) -> object:
    """The next item, or ``None`` once ``stop`` is set and nothing is left."""
    while True:
        try:
            return source.get(timeout=0.1)
        except queue.Empty:
            if stop.is_set():
                return None
