"""``facecloak protect``: cloak the faces in photos against recognition and/or detection.

Every option is checked before any photo is read (:func:`check`): values by their ``type=``
functions and ``choices``, combinations that cannot work or would be silently ignored here.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from facecloak.cli import checks, choices
from facecloak.cli.common import (
    EXIT_FAILURE,
    EXIT_OK,
    Subcommands,
    add_common,
    add_detector_option,
    check_output_dir,
    check_recognizers,
    print_json,
    refuse,
)
from facecloak.cli.protect_video import (
    add_video_arguments,
    protect_video_inputs,
    run_clips,
    split_inputs,
    video_summary,
)
from facecloak.replace.shapes import MAX_STRENGTH as MAX_SHAPE_MIX

OVERRIDES = ("eps", "steps", "step_size", "lam")
"""Options that override the preset of ``--strength``."""


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


def config_fields(args: argparse.Namespace) -> dict[str, Any]:
    """The :class:`~facecloak.protect.ProtectConfig` fields the command line sets (levels of
    0-255 scaled to [0, 1]); ``protect_files`` adds the target embeddings and the classifier,
    which need loading."""
    from facecloak.models import DEFAULT_DETECTOR

    def scaled(level: float | None) -> float | None:
        return None if level is None else level / 255

    return {
        "against": args.against,
        "method": args.method or choices.DEFAULT_METHOD,
        "strength": args.strength or choices.default_strength(),
        "faces": None if args.faces is None else tuple(args.faces),
        "largest": args.largest,
        "recognizers": _cloak_recognizers(args),
        "verify": args.verify,
        "robust": args.robust is not False,
        "eps": scaled(args.eps),
        "steps": args.steps,
        "step_size": scaled(args.step_size),
        "lam": args.lam,
        "detector": args.detector or DEFAULT_DETECTOR,
        "evade": tuple(args.evade) if args.evade else None,
        **({"donors": args.donors} if getattr(args, "donors", None) is not None else {}),
        **_replace_fields(args),
    }


def _replace_fields(args: argparse.Namespace) -> dict:
    """``--attributes``, ``--replacer``, ``--shape-mix``, ``--candidates`` and ``--seed``, when
    given."""
    given = {
        "attributes": getattr(args, "attributes", None),
        "replacer": getattr(args, "replacer", None),
        "shape_mix": getattr(args, "shape_mix", None),
        "candidates": getattr(args, "candidates", None),
        "seed": getattr(args, "seed", None),
        "then": getattr(args, "then", None),
    }
    return {name: value for name, value in given.items() if value is not None}


def _cloak_recognizers(args: argparse.Namespace) -> tuple[str, ...]:
    """``--ensemble X`` is dlib plus X; else ``--recognizers`` (default ``all``)."""
    if args.ensemble:
        return (choices.DEFAULT_RECOGNIZER, *args.ensemble)
    return tuple(args.recognizers or ["all"])


def check(args: argparse.Namespace) -> None:
    """Refuse, before any work, combinations of options that cannot work or would be ignored;
    then let :class:`~facecloak.protect.ProtectConfig` check the settings it will be given
    (its :class:`~facecloak.errors.InvalidOptionError` also exits with 2)."""
    _check_options(args)
    from facecloak.protect import ProtectConfig

    config = ProtectConfig(**config_fields(args))
    if config.donors is not None:
        _index_donors(config.donors, config.cloak_recognizers[0], config.detector)


def _index_donors(folder: Path, recognizer: str, detector: str) -> None:
    """Index the donor folder now (or read its cache): an empty folder or one without a face is
    refused before any photo is touched."""
    from facecloak.models import load_recognizer
    from facecloak.obfuscate.donors import index_donors

    index_donors(folder, load_recognizer(recognizer), detector)


def _check_options(args: argparse.Namespace) -> None:
    if args.outdir is None:
        raise refuse("-o/--outdir", "is required: the folder for the protected photos")
    check_output_dir("-o/--outdir", args.outdir)
    if args.against == "detection":
        _refuse_given(
            args,
            ("method", "strength", "lam", "target", "ensemble", "recognizers", "model"),
            "--against detection (the evasion cloak)",
        )
    if args.evade is not None and args.against == "recognition":
        raise refuse("--evade", "applies to --against detection or both")
    if args.model is not None:
        _check_classifier(args)
    elif args.method in choices.obfuscations() + choices.replacements():
        _check_classical(args)
    _check_donors(args)
    _check_replace(args)
    if args.ensemble:
        _check_ensemble(args)
        check_recognizers("--ensemble", args.ensemble)
    if args.recognizers:
        check_recognizers("--recognizers", [n for n in args.recognizers if n != "all"])
    if args.lam is not None and args.method != "pfgvm":
        method = args.method or choices.DEFAULT_METHOD
        raise refuse(
            "--lam", f"'{args.lam:g}': P-FGVM's realism weight needs --method pfgvm, not {method}"
        )
    if args.target is not None and args.model is None and not args.target.exists():
        raise refuse(
            "--target",
            f"{str(args.target)!r} does not exist; give a photo or a folder "
            "of photos of the person to look like",
        )


def _check_classical(args: argparse.Namespace) -> None:
    """A classical method hides the face itself: no cloak, so no cloak options."""
    if args.against != "recognition":
        raise refuse(
            "--method",
            f"{args.method!r} hides the face itself; use it with --against recognition, "
            f"not --against {args.against}",
        )
    if args.robust is not None:
        flag = "--robust" if args.robust else "--no-robust"
        raise refuse(flag, f"does not apply to the classical --method {args.method}")
    _refuse_given(
        args,
        ("strength", *OVERRIDES, "target", "ensemble", "recognizers"),
        f"the classical --method {args.method}",
    )


def _check_donors(args: argparse.Namespace) -> None:
    """``--method swap`` and ``--donors`` go together."""
    donors = getattr(args, "donors", None)
    if args.method == "swap" and donors is None:
        raise refuse(
            "--method",
            "'swap' needs --donors DIR: a folder of photos of people who agreed to lend their "
            "face (or generated faces)",
        )
    if donors is not None and args.method != "swap":
        raise refuse("--donors", f"{str(donors)!r} applies to --method swap only")
    if donors is not None and not donors.is_dir():
        raise refuse("--donors", f"{str(donors)!r} is not a folder; give a folder of face photos")


def _check_replace(args: argparse.Namespace) -> None:
    """``--attributes``, ``--replacer``, ``--shape-mix`` and ``--candidates`` go with
    ``--method replace``, and must be usable."""
    from facecloak.replace.attributes import parse_choice

    then = getattr(args, "then", None)
    if then is not None and args.method not in ("replace", "swap"):
        raise refuse("--then", f"{then!r} follows --method replace or swap only")
    for option in ("attributes", "replacer", "shape_mix", "candidates"):
        value = getattr(args, option, None)
        if value is not None and args.method != "replace":
            flag = "--" + option.replace("_", "-")
            raise refuse(flag, f"{str(value)!r} applies to --method replace only")
    attributes = getattr(args, "attributes", None)
    if attributes is not None:
        try:
            parse_choice(attributes)
        except ValueError as exc:
            raise refuse("--attributes", str(exc)) from None
    replacer = getattr(args, "replacer", None)
    if replacer is not None and not replacer.is_file():
        raise refuse("--replacer", f"{str(replacer)!r} is not a file; give a train-replacer .pt")


def _check_classifier(args: argparse.Namespace) -> None:
    """``--model`` cloaks against a classifier with the preset's PGD, against recognition only."""
    if args.against != "recognition":
        raise refuse(
            "--model",
            f"cloaks against a classifier; it cannot be combined with --against {args.against}",
        )
    if args.method not in (None, choices.DEFAULT_METHOD):
        raise refuse(
            "--model",
            f"the classifier cloak runs --method {choices.DEFAULT_METHOD}, "
            f"not --method {args.method}",
        )


def _check_ensemble(args: argparse.Namespace) -> None:
    """An ensemble cloak is untargeted, against recognizers, with the default attack."""
    names = ",".join(args.ensemble)
    method = args.method or choices.DEFAULT_METHOD
    if method != choices.DEFAULT_METHOD:
        raise refuse(
            "--ensemble",
            f"{names!r} needs --method {choices.DEFAULT_METHOD}, not --method {method}",
        )
    if args.target is not None:
        raise refuse("--ensemble", f"{names!r}: an ensemble cloak is untargeted; drop --target")
    if args.model is not None:
        raise refuse("--ensemble", f"{names!r}: --model cloaks against a classifier only")


def _refuse_given(args: argparse.Namespace, options: tuple[str, ...], reason: str) -> None:
    """Refuse the first of ``options`` given on the command line: ``reason`` ignores it."""
    for name in options:
        value = getattr(args, name)
        if value is not None and value != []:
            option = "--" + name.replace("_", "-")
            shown = ",".join(value) if isinstance(value, list) else str(value)
            raise refuse(option, f"{shown!r} does not apply to {reason}")


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
