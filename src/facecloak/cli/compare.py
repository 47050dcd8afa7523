"""``facecloak compare``: is the largest face of two photos the same person?"""

from __future__ import annotations

import argparse
from pathlib import Path

from facecloak.cli.common import (
    EXIT_OK,
    Subcommands,
    add_common,
    add_detector_option,
    load,
    print_json,
)
from facecloak.errors import NoFaceError


def add_parser(subcommands: Subcommands) -> None:
    sub = subcommands.add_parser(
        "compare", help="is it the same person? (largest face in each photo)"
    )
    sub.add_argument("image_a", type=Path)
    sub.add_argument("image_b", type=Path)
    sub.add_argument(
        "--all",
        action="store_true",
        help="ask every recognizer that can load here, not only dlib's",
    )
    add_detector_option(sub)
    add_common(sub)
    sub.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from facecloak.models import DEFAULT_DETECTOR
    from facecloak.recognition import compare_embeddings, embed_largest_face

    detector = args.detector or DEFAULT_DETECTOR
    embedded, photos = [], []
    for path in (args.image_a, args.image_b):
        rgb = load(path, args)
        photos.append(rgb)
        try:
            embedded.append(embed_largest_face(rgb, detector=detector))
        except NoFaceError as exc:
            raise NoFaceError(
                f"{path}: no face found ({detector} detector); use a photo where a face is "
                "clearly visible or try --detector cnn"
            ) from exc
    (embedding_a, face_a), (embedding_b, face_b) = embedded
    if args.all:
        return _compare_everywhere(args, (photos[0], face_a), (photos[1], face_b))
    result = compare_embeddings(embedding_a, embedding_b)
    if args.json:
        print_json(
            {
                "ok": True,
                "image_a": str(args.image_a),
                "image_b": str(args.image_b),
                **result.to_dict(),
                "face_a": face_a.to_dict(),
                "face_b": face_b.to_dict(),
            }
        )
    else:
        verdict = "SAME person" if result.same else "DIFFERENT people (no match)"
        print(f"distance {result.distance:.4f} (threshold {result.threshold}): {verdict}")
    return EXIT_OK


def _compare_everywhere(args: argparse.Namespace, photo_a: tuple, photo_b: tuple) -> int:
    """One verdict per usable recognizer (landmarks found anew on each photo)."""
    from facecloak.recognition import verdicts_by_recognizer

    verdicts = verdicts_by_recognizer(photo_a, photo_b)
    same = sum(v.same for v in verdicts)
    if args.json:
        print_json(
            {
                "ok": True,
                "image_a": str(args.image_a),
                "image_b": str(args.image_b),
                "verdicts": [{**v.to_dict(), "same": v.same} for v in verdicts],
                "matched_by": same,
                "recognizers": len(verdicts),
                "face_a": photo_a[1].to_dict(),
                "face_b": photo_b[1].to_dict(),
            }
        )
        return EXIT_OK
    for v in verdicts:
        said = "SAME person" if v.same else "different (no match)"
        print(f"{v.recognizer:>15}: distance {v.distance:.4f} (threshold {v.threshold:g}): {said}")
    print(f"{same} of {len(verdicts)} recognizers take them for the same person")
    return EXIT_OK
