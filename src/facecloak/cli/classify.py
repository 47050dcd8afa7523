"""``facecloak classify``: who is it? The top identities of a trained classifier."""

from __future__ import annotations

import argparse
from pathlib import Path

from facecloak.cli import checks
from facecloak.cli.common import (
    EXIT_OK,
    Subcommands,
    add_common,
    add_detector_option,
    load,
    print_json,
    refuse,
)
from facecloak.errors import NoFaceError


def add_parser(subcommands: Subcommands) -> None:
    sub = subcommands.add_parser(
        "classify", help="who is it? top identities of a trained classifier (largest face)"
    )
    sub.add_argument("image", type=Path)
    sub.add_argument("--model", type=Path, required=True, metavar="MODEL.pt")
    sub.add_argument(
        "--top", type=checks.integer(1), default=5, help="how many identities to list (>= 1)"
    )
    sub.add_argument(
        "--aligned", action="store_true", help="the photo already is a face chip: skip detection"
    )
    add_detector_option(sub)
    add_common(sub)
    sub.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from facecloak.classify import classify, load_classifier
    from facecloak.models import DEFAULT_DETECTOR

    if args.aligned and args.detector is not None:
        raise refuse("--detector", f"{args.detector!r} does not apply to an --aligned face chip")
    model = load_classifier(args.model)
    rgb = load(args.image, args)
    detector = args.detector or DEFAULT_DETECTOR
    try:
        result = classify(model, rgb, top_k=args.top, detector=detector, aligned=args.aligned)
    except NoFaceError as exc:
        raise NoFaceError(
            f"{args.image}: no face found ({detector} detector); use a photo where a face is "
            "clearly visible, try --detector cnn, or pass --aligned for face chips"
        ) from exc
    if args.json:
        print_json(
            {"ok": True, "image": str(args.image), "model": str(args.model), **result.to_dict()}
        )
    else:
        print(f"{args.image}: {result.identity}")
        for rank, prediction in enumerate(result.predictions, start=1):
            print(f"  {rank}. {prediction.identity}  {prediction.probability:.1%}")
    return EXIT_OK
