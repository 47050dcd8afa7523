"""The video part of ``facecloak protect``: its options, which inputs are clips, and running them.

:mod:`facecloak.cli.protect` calls :func:`add_video_arguments` on its parser, :func:`split_inputs`
before any work, and :func:`protect_video_inputs` once every option has been checked: the clips
among the inputs (files that probe as video, and video files inside folders) are protected here
(:func:`facecloak.video.pipeline.protect_video`); the photos are left to the photo pipeline.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass, field
from pathlib import Path

from facecloak.cli import checks
from facecloak.cli.common import EXIT_FAILURE, EXIT_OK, print_json
from facecloak.errors import FacecloakError
from facecloak.images import IMAGE_SUFFIXES
from facecloak.paths import remove_stale_temporaries
from facecloak.video.adapters import CloakSettings
from facecloak.video.media import VIDEO_SUFFIXES, is_video
from facecloak.video.options import VideoOptions
from facecloak.video.pipeline import protect_video
from facecloak.video.preview import preview_video
from facecloak.video.replace import VIDEO_SHAPE_MIX, ReplaceOptions
from facecloak.video.writer import EncoderConfig

logger = logging.getLogger(__name__)

DEFAULT_VIDEO_METHOD = "blur"
_RENAMED_SUFFIXES = {".webm": ".mkv"}  # WebM cannot hold H.264


@dataclass
class VideoPart:
    """What the video side did, and the inputs left for the photo pipeline."""

    items: list[dict] = field(default_factory=list)
    photo_inputs: list[Path] = field(default_factory=list)


def add_video_arguments(sub: argparse.ArgumentParser) -> None:
    """The ``protect`` options that only apply to clips."""
    group = sub.add_argument_group(
        "video",
        "Clips (MP4, MOV, MKV, ...) are protected with --method blur (default for clips), "
        "pixelate or mask on every frame, swap (--donors DIR; each tracked face keeps its "
        "donor) or replace (each tracked face keeps its generated person); the cloaks "
        "(perceptual, pgd, ...) also work, slowly: one attack per face per frame, warm-started "
        "from the previous frame. Audio is copied unchanged. With one clip, -o may name the "
        "output file.",
    )
    group.add_argument(
        "--video-crf",
        type=checks.integer(0, 51),
        default=20,
        metavar="N",
        help="H.264 quality, 0-51, lower is better (default 20)",
    )
    group.add_argument(
        "--detect-every",
        type=checks.integer(1, 1000),
        default=1,
        metavar="K",
        help="run the detector on every K-th frame; tracks bridge the rest",
    )
    group.add_argument(
        "--max-gap",
        type=checks.integer(0, 1000),
        default=5,
        metavar="N",
        help="keep a face protected through N missed detections (default 5)",
    )
    group.add_argument(
        "--no-tracking",
        dest="tracking",
        action="store_false",
        help="protect raw detections only (no tracks, no smoothing)",
    )
    group.add_argument(
        "--keep-face",
        type=Path,
        action="append",
        default=[],
        metavar="PHOTO",
        help="leave unprotected the faces whose track matches this person (repeatable)",
    )
    group.add_argument(
        "--preview",
        type=Path,
        metavar="OUT.png",
        help="write one protected frame of the clip and stop",
    )
    group.add_argument(
        "--preview-frame",
        type=checks.integer(0, 10**9),
        metavar="N",
        help="the frame --preview shows (default: the middle one)",
    )


def protect_video_inputs(
    args: argparse.Namespace, videos: list[tuple[Path, Path]], photo_inputs: list[Path]
) -> VideoPart:
    """Protect ``videos`` (from :func:`split_inputs`); return their reports and the photo
    inputs left for the photo pipeline."""
    part = VideoPart(photo_inputs=photo_inputs)
    if args.preview is not None:
        if len(videos) != 1:
            raise FacecloakError("--preview needs exactly one clip among the inputs")
        part.items.append(
            preview_video(videos[0][0], args.preview, _options(args), args.preview_frame)
        )
        part.photo_inputs = []
        return part
    if not videos:
        return part
    _refuse_photo_only_options(args)
    if args.outdir is None:
        raise FacecloakError("-o is required: the output clip, or a folder for the results")
    alone = len(videos) == 1 and not photo_inputs
    single = alone and args.outdir.suffix.lower() in VIDEO_SUFFIXES
    if not single:
        remove_stale_temporaries(args.outdir)
    for path, relative in videos:
        target = args.outdir if single else args.outdir / _output_name(relative)
        if alone:
            part.items.append(_protect_one(path, target, args))  # one clip: errors go up as-is
            continue
        try:
            part.items.append(_protect_one(path, target, args))
        except FacecloakError as exc:
            logger.error("%s", exc)
            part.items.append({"input": str(path), "status": "error", "reason": str(exc)})
    return part


def run_clips(args: argparse.Namespace, videos: list[tuple[Path, Path]]) -> int:
    """``facecloak protect`` when every input is a clip: protect them, print the report."""
    part = protect_video_inputs(args, videos, [])
    ok = all(item["status"] in ("protected", "preview") for item in part.items)
    if args.json:
        print_json({"ok": ok, "photos": [], "videos": part.items})
    else:
        for item in part.items:
            print(video_summary(item))
    return EXIT_OK if ok else EXIT_FAILURE


def split_inputs(inputs: list[Path]) -> tuple[list[tuple[Path, Path]], list[Path]]:
    """``(clips as (path, path relative to its input), inputs for the photo pipeline)``.

    A file named on the command line is a clip when it has a video suffix (if it then fails to
    open, the error is a video one) or probes as one whatever its name; inside folders, files with
    a video suffix are probed. A folder goes to the photo pipeline too when it holds photos.
    """
    videos: list[tuple[Path, Path]] = []
    photos: list[Path] = []
    folders: list[tuple[Path, list[Path]]] = []
    for item in inputs:
        if item.is_dir():
            files = sorted(p for p in item.rglob("*") if p.is_file())
            folders.append((item, files))
            if any(p.suffix.lower() in IMAGE_SUFFIXES for p in files):
                photos.append(item)
        elif item.is_file() and _named_or_probed_video(item):
            videos.append((item, Path(item.name)))
        else:
            photos.append(item)
    # Several folders are mirrored each under its own name, as their photos are.
    several = len(folders) > 1 or len(photos) > 1
    for folder, files in folders:
        under = Path(folder.resolve().name) if several else Path()
        videos += [
            (p, under / p.relative_to(folder))
            for p in files
            if p.suffix.lower() in VIDEO_SUFFIXES and is_video(p)
        ]
    return videos, photos


def _named_or_probed_video(path: Path) -> bool:
    suffix = path.suffix.lower()
    if suffix in VIDEO_SUFFIXES:
        return True
    return suffix not in IMAGE_SUFFIXES and is_video(path)


def video_summary(item: dict) -> str:
    """One line per clip for the terminal."""
    if item["status"] == "preview":
        faces = item["faces_drawn"]
        return f"{item['input']}: frame {item['frame']} -> {item['output']} ({faces} faces)"
    if item["status"] != "protected":
        return f"{item['input']}: {item['status']} ({item.get('reason', '')})"
    return (
        f"{item['input']} -> {item['output']}: {item['frames']} frames, {item['tracks']} face "
        f"tracks ({item['tracks_kept']} kept), {item['method']}, audio streams copied "
        f"{item['audio_streams_copied']}, {item['processing_fps']:.1f} frames/s"
    )


def _protect_one(path: Path, target: Path, args: argparse.Namespace) -> dict:
    report = protect_video(path, target, _options(args))
    return report.to_dict()


def _options(args: argparse.Namespace) -> VideoOptions:
    from facecloak.images import DEFAULT_MAX_PIXELS

    method = args.method or DEFAULT_VIDEO_METHOD
    cloak = CloakSettings(
        strength=args.strength,
        eps=None if args.eps is None else args.eps / 255,
        steps=args.steps,
        robust=args.robust,
    )
    max_pixels = DEFAULT_MAX_PIXELS if args.max_pixels is None else int(args.max_pixels)
    return VideoOptions(
        method=method,
        detector=args.detector or VideoOptions.detector,
        detect_every=args.detect_every,
        max_gap=args.max_gap,
        tracking=args.tracking,
        keep_faces=tuple(args.keep_face),
        keep_location=args.keep_metadata,
        overwrite=args.overwrite,
        encoder=EncoderConfig(crf=args.video_crf),
        progress=not args.json,
        max_pixels=max_pixels or None,
        cloak=cloak,
        donors=getattr(args, "donors", None),
        replace=ReplaceOptions(
            attributes=getattr(args, "attributes", None) or "random",
            seed=getattr(args, "seed", None) or 0,
            replacer=getattr(args, "replacer", None),
            shape_mix=(
                VIDEO_SHAPE_MIX if getattr(args, "shape_mix", None) is None else args.shape_mix
            ),
        ),
    )


def _refuse_photo_only_options(args: argparse.Namespace) -> None:
    given = [
        name
        for name, used in (
            ("--target", args.target is not None),
            ("--model", getattr(args, "model", None) is not None),
            ("--ensemble", bool(getattr(args, "ensemble", None))),
            ("--against", getattr(args, "against", "recognition") != "recognition"),
            ("--faces", args.faces is not None),
            ("--largest", args.largest),
            ("--then", getattr(args, "then", None) is not None),
            ("--candidates", getattr(args, "candidates", None) is not None),
        )
        if used
    ]
    if given:
        raise FacecloakError(f"{', '.join(given)}: not available for video yet; drop it for clips")


def _output_name(relative: Path) -> Path:
    suffix = _RENAMED_SUFFIXES.get(relative.suffix.lower())
    return relative.with_suffix(suffix) if suffix else relative
