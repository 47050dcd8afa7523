"""``facecloak protect``: cloak the faces in photos against recognition and/or detection.

Every option is checked before any photo is read: values by their ``type=`` functions and
``choices``, combinations that cannot work or would be silently ignored by
:func:`~facecloak.cli.protect_settings.check`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from facecloak.cli import checks, choices
from facecloak.cli.common import (
    EXIT_FAILURE,
    EXIT_OK,
    Subcommands,
    add_common,
    add_detector_option,
    print_json,
)
from facecloak.cli.protect_settings import check, config_fields
from facecloak.cli.protect_video import (
    add_video_arguments,
    protect_video_inputs,
    run_clips,
    split_inputs,
    video_summary,
)
from facecloak.replace.shapes import MAX_STRENGTH as MAX_SHAPE_MIX

__all__ = ["add_parser", "check", "config_fields", "run", "verdict_line"]


def add_parser(subcommands: Subcommands) -> None:
    sub = subcommands.add_parser(
        "protect",
        help="cloak the faces in photos against face recognition and/or detection",
        description="Protected copies keep each input's name and format; EXIF/GPS metadata is "
        "removed unless --keep-metadata.",
    )
    sub.add_argument(
        "inputs", type=Path, nargs="+", metavar="INPUT", help="photos, clips or folders"
    )
    sub.add_argument(
        "-o", "--outdir", type=Path, help="folder for the results (or the output clip)"
    )
    _add_cloak_options(sub)
    _add_visible_options(sub)
    _add_goal_options(sub)
    add_detector_option(sub)
    sub.add_argument("--keep-metadata", action="store_true", help="keep EXIF (incl. GPS)")
    sub.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    sub.add_argument(
        "--copy-unprotected",
        action="store_true",
        help="copy photos without a face to OUTDIR unchanged",
    )
    _add_batch_options(sub)
    add_common(sub)
    add_video_arguments(sub)
    sub.set_defaults(run=run)


def _add_batch_options(sub: argparse.ArgumentParser) -> None:
    """How a folder of photos is spread over processes or a Ray cluster, and resumed."""
    sub.add_argument(
        "--workers",
        type=checks.integer(1),
        metavar="N",
        help="worker processes, each loading the models once (default: one per core); "
        "with --ray, the number of actors (default: the cluster's CPUs)",
    )
    sub.add_argument(
        "--ray",
        metavar="auto|ADDRESS",
        help="run on a Ray cluster (pip install 'facecloak[ray]'); inputs and -o on storage "
        "every node sees",
    )
    sub.add_argument(
        "--retry-failed",
        action="store_true",
        help="redo the photos an earlier run of the same command recorded as failed",
    )


def _add_visible_options(sub: argparse.ArgumentParser) -> None:
    """The options of the visible methods: swap's donors, replace's generator and draws."""
    sub.add_argument(
        "--donors",
        type=Path,
        metavar="DIR",
        help="with --method swap: photos of people who agreed to lend their face (or generated "
        "faces); indexed once, then cached",
    )
    sub.add_argument(
        "--attributes",
        metavar="SPEC",
        help="with --method replace: the new face's attributes: random (default), keep, or "
        "name=value,... (value: a bin from 0, keep, random or none; e.g. 'smile=0,yaw=keep')",
    )
    sub.add_argument(
        "--shape-mix",
        type=checks.real(0, MAX_SHAPE_MIX),
        metavar="F",
        help="with --method replace: how far the new face leaves the person's own proportions "
        "(0: kept; 1: the mean of the nearest training faces' shapes; 2, the default: past that "
        "mean, the person's departures from it reversed; pose and expression are kept)",
    )
    sub.add_argument(
        "--candidates",
        type=checks.integer(1),
        metavar="N",
        help="with --method replace: new faces drawn per face; the first attacked recognizer "
        "(dlib by default) keeps the one farthest from the original "
        "(default 8; 1: the first draw; photos only)",
    )
    sub.add_argument(
        "--replacer",
        type=Path,
        metavar="PATH",
        help="with --method replace: generator weights from train-replacer (default: the "
        "committed ones)",
    )
    sub.add_argument(
        "--then",
        choices=["cloak"],
        default=None,
        help="after --method replace or swap: cloak the new face against every available "
        "recognizer, away from the original person",
    )
    sub.add_argument(
        "--seed",
        type=checks.integer(0, 2**32 - 1),
        default=None,
        help="random seed: the same seed gives the same replaced face (default 0)",
    )


def _add_cloak_options(sub: argparse.ArgumentParser) -> None:
    """How the cloak is computed: method, preset and its overrides."""
    sub.add_argument(
        "--method",
        choices=choices.methods(),
        default=None,
        metavar="METHOD",
        help="an attack or a classical obfuscation: %(choices)s "
        f"(default: {choices.DEFAULT_METHOD}; blur for clips)",
    )
    sub.add_argument(
        "--verify",
        action="store_true",
        default=None,
        help="with blur/pixelate/mask: also check each covered face with the recognizers "
        "(distances, verdicts, SSIMULACRA2; loads them and costs seconds per face)",
    )
    sub.add_argument(
        "--strength",
        choices=choices.strengths(),
        default=None,
        metavar="PRESET",
        help=choices.LazyText(
            lambda: f"cloak preset: %(choices)s (default: {choices.default_strength()})"
        ),
    )
    level = checks.real(0, 255, low_open=True)
    sub.add_argument("--eps", type=level, help="L-inf budget in 0-255 pixel levels, in (0, 255]")
    sub.add_argument("--steps", type=checks.integer(1), help="attack steps (>= 1)")
    sub.add_argument("--step-size", type=level, help="step size in 0-255 pixel levels")
    sub.add_argument("--lam", type=checks.real(0), help="P-FGVM realism weight (>= 0)")
    sub.add_argument(
        "--robust",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="survive JPEG re-compression and resizing (default: on)",
    )


def _add_goal_options(sub: argparse.ArgumentParser) -> None:
    """What the cloak is against: which faces, which identity, which models."""
    which = sub.add_mutually_exclusive_group()
    which.add_argument(
        "--faces",
        type=checks.indices,
        metavar="I,J",
        help="protect only these faces (numbers from `facecloak detect`)",
    )
    which.add_argument("--largest", action="store_true", help="protect only the largest face")
    sub.add_argument(
        "--target",
        type=Path,
        metavar="IMAGE_OR_DIR",
        help="look like the person in these photos (targeted cloak)",
    )
    sub.add_argument(
        "--model",
        type=Path,
        metavar="MODEL.pt",
        help="cloak against this identity classifier (from `facecloak train`); --target then "
        "names one of its classes",
    )
    extra = choices.extra_recognizers()
    every = ["all", choices.DEFAULT_RECOGNIZER, *extra]
    sub.add_argument(
        "--recognizers",
        type=checks.names(every, "recognizer"),
        default=None,
        metavar="NAME,...",
        help="the recognizers the cloak beats at once (default: all, every one that can load "
        "here: what makes it hold against recognizers it never saw; dlib alone is fastest): "
        + ", ".join(every),
    )
    sub.add_argument(
        "--ensemble",
        type=checks.names(extra, "recognizer"),
        default=[],
        metavar="NAME,...",
        help="also beat these recognizers: " + ", ".join(extra),
    )
    sub.add_argument(
        "--against",
        choices=choices.against(),
        default="recognition",
        metavar="GOAL",
        help="%(choices)s: cloak the identity (default), hide the faces from detectors, or both",
    )
    evadable = choices.evasion_detectors()
    sub.add_argument(
        "--evade",
        type=checks.names(evadable, "detector"),
        default=None,
        metavar="NAME,...",
        help="detectors to hide from with --against detection/both (default: every one "
        "installed): " + ", ".join(evadable),
    )


def run(args: argparse.Namespace) -> int:
    videos, photo_inputs = split_inputs(args.inputs)
    if videos and not photo_inputs:
        return run_clips(args, videos)  # without importing the photo pipeline (and torch)
    from facecloak.protect.batch import NOT_OK, RunOptions, protect_files, summary_line

    photo_args = argparse.Namespace(**{**vars(args), "inputs": photo_inputs})
    photos_to_do = bool(photo_inputs) or not videos
    if photos_to_do and args.preview is None:
        check(photo_args)
    clips = protect_video_inputs(args, videos, photo_inputs)
    report: dict = {"ok": True, "photos": []}
    if clips.photo_inputs:
        batch = RunOptions(args.workers, args.ray, args.retry_failed)
        report = protect_files(photo_args, config_fields(photo_args), batch)
    if clips.items:
        report["videos"] = clips.items
    items = report["photos"] + clips.items
    report["ok"] = not any(item["status"] in NOT_OK for item in items)
    if args.json:
        print_json(report)
    else:
        for item in report["photos"]:
            print(_summary(item))
        for item in clips.items:
            print(video_summary(item))
        if report["photos"]:
            print(f"photos: {summary_line(report)}")
    return EXIT_OK if report["ok"] else EXIT_FAILURE


def _summary(item: dict) -> str:
    if item["status"] == "already done":
        return f"{item['input']} -> {item.get('output', '-')}: already done ({item['earlier']})"
    if item["status"] not in ("protected", "partial"):
        return f"{item['input']}: {item['status']} ({item.get('reason', '')})"
    parts = []
    faces = item["faces_protected"]
    if faces and not all(f.get("verified", True) for f in faces):
        parts.append(f"{len(faces)}/{len(faces)} faces covered (not checked: --verify checks)")
    elif faces:
        worst = min(faces, key=lambda f: f["distance"] / f["threshold"])
        safe = sum(f["protected"] for f in faces)
        parts.append(
            f"{safe}/{len(faces)} faces no longer match "
            f"(closest distance {worst['distance']:.3f}, threshold {worst['threshold']:g})"
        )
    classified = item.get("faces_classified", [])
    if classified:
        fooled = sum(c["protected"] for c in classified)
        answers = ", ".join(f"{c['before']} -> {c['after']}" for c in classified)
        parts.append(f"{fooled}/{len(classified)} faces fool the classifier ({answers})")
    hidden = item.get("faces_hidden", [])
    if hidden:
        gone = sum(h["protected"] for h in hidden)
        after_jpeg = sum(not h["found_after_jpeg75"] for h in hidden)
        parts.append(
            f"{gone}/{len(hidden)} faces hidden from the detector ({after_jpeg} after JPEG q75)"
        )
    lines = [f"{item['input']} -> {item['output']}: {'; '.join(parts)} in {item['seconds']:.1f} s"]
    lines += [verdict_line(face) for face in faces if face.get("verdicts")]
    return "\n".join(lines)


def verdict_line(face: dict) -> str:
    """``  face 0: dlib* no match, mobilefacenet MATCH ...`` (``*``: the cloak attacked it;
    each verdict after a JPEG q75 re-save, the way photos are usually shared)."""
    words = []
    for verdict in face["verdicts"]:
        mark = "*" if verdict["attacked"] else ""
        said = "MATCH" if verdict["match_after_jpeg75"] else "no match"
        words.append(f"{verdict['recognizer']}{mark} {said}")
    quality = face.get("ssimulacra2")
    seen = "" if quality is None else f"; SSIMULACRA2 {quality:.0f}"
    return f"  face {face['index']} after JPEG q75: {', '.join(words)}{seen}"
