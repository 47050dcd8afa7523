"""``facecloak detect``: find faces, print their boxes and scores, optionally draw them."""

from __future__ import annotations

import argparse
from pathlib import Path

from facecloak.cli import choices
from facecloak.cli.common import (
    EXIT_OK,
    Subcommands,
    add_common,
    add_detector_option,
    check_output_file,
    load,
    print_json,
    refuse,
)


def add_parser(subcommands: Subcommands) -> None:
    sub = subcommands.add_parser("detect", help="find faces: boxes, scores, landmarks")
    sub.add_argument("image", type=Path, help="a photo (JPEG, PNG, WebP, TIFF, BMP)")
    add_detector_option(sub)
    sub.add_argument(
        "--draw",
        type=Path,
        metavar="OUT.png",
        help="save the photo with the faces drawn on it ("
        + ", ".join(choices.image_suffixes())
        + "; its folder must exist)",
    )
    sub.add_argument("--overwrite", action="store_true", help="replace an existing --draw file")
    add_common(sub)
    sub.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from facecloak.faces.draw import draw_faces
    from facecloak.models import DEFAULT_DETECTOR, detect

    if args.draw is not None:
        check_draw(args.draw, args.image, args.overwrite)
    rgb = load(args.image, args)
    detector = args.detector or DEFAULT_DETECTOR
    faces = detect(rgb, detector=detector)
    if args.draw:
        draw_faces(rgb, faces).save(args.draw)
    if args.json:
        print_json(
            {
                "ok": True,
                "image": str(args.image),
                "detector": detector,
                "size": [rgb.shape[1], rgb.shape[0]],
                "faces": [face.to_dict() for face in faces],
            }
        )
    else:
        print(f"{args.image}: {len(faces)} face{'s' if len(faces) != 1 else ''} ({detector})")
        for index, face in enumerate(faces):
            x0, y0, x1, y1 = face.box
            print(f"  [{index}] box=({x0:.0f},{y0:.0f},{x1:.0f},{y1:.0f}) score={face.score:.3f}")
        if args.draw:
            print(f"drawn: {args.draw}")
    return EXIT_OK


def check_draw(path: Path, image: Path, overwrite: bool) -> None:
    """Refuse a ``--draw`` path facecloak cannot write as an image, or should not."""
    suffixes = choices.image_suffixes()
    if path.suffix.lower() not in suffixes:
        raise refuse(
            "--draw",
            f"{str(path)!r} is not an image file name; end it in one of {', '.join(suffixes)}",
        )
    check_output_file("--draw", path, [image], overwrite)
