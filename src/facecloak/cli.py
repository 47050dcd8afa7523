"""The ``facecloak`` command line.

Every command takes ``--json`` for machine-readable output, exits 0 on success and, on failure,
prints one line saying what went wrong and what to do, and exits non-zero (no traceback).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from facecloak import __version__
from facecloak.errors import FacecloakError, NoFaceError

logger = logging.getLogger("facecloak")

EXIT_OK = 0
EXIT_FAILURE = 1


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``facecloak`` command."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return args.run(args)
    except FacecloakError as exc:
        return _fail(str(exc), args)
    except KeyboardInterrupt:
        return _fail("interrupted", args)
    except MemoryError:
        return _fail("out of memory; try a smaller image", args)


def _fail(message: str, args: argparse.Namespace) -> int:
    if getattr(args, "json", False):
        print(json.dumps({"ok": False, "error": message}))
    print(f"facecloak: error: {message}", file=sys.stderr)
    return EXIT_FAILURE


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="facecloak",
        description="Protect faces in photos from face recognition and detection.",
    )
    parser.add_argument("--version", action="version", version=f"facecloak {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_detect(commands)
    _add_compare(commands)
    _add_protect(commands)
    _add_evaluate(commands)
    return parser


def _add_common(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--json", action="store_true", help="print machine-readable JSON")
    sub.add_argument(
        "--max-pixels",
        type=float,
        default=None,
        metavar="N",
        help="refuse images above N pixels (default 40e6; 0 for no limit)",
    )
    sub.add_argument("-v", "--verbose", action="store_true", help="log what happens")


def _add_detect(commands: argparse._SubParsersAction) -> None:
    from facecloak.faces.detectors import DETECTORS

    sub = commands.add_parser("detect", help="find faces: boxes, scores, landmarks")
    sub.add_argument("image", type=Path, help="a photo (JPEG, PNG, WebP, TIFF, BMP)")
    sub.add_argument(
        "--detector",
        choices=sorted(DETECTORS),
        default=None,
        help="face detector (default: centerface)",
    )
    sub.add_argument(
        "--draw", type=Path, metavar="OUT.png", help="save the photo with the faces drawn on it"
    )
    _add_common(sub)
    sub.set_defaults(run=_run_detect)


def _add_compare(commands: argparse._SubParsersAction) -> None:
    sub = commands.add_parser("compare", help="is it the same person? (largest face in each photo)")
    sub.add_argument("image_a", type=Path)
    sub.add_argument("image_b", type=Path)
    sub.add_argument("--detector", default=None, help="face detector (default: centerface)")
    _add_common(sub)
    sub.set_defaults(run=_run_compare)


def _add_protect(commands: argparse._SubParsersAction) -> None:
    from facecloak.protect import ATTACK_METHODS, CLASSICAL_METHODS, DEFAULT_STRENGTH, PRESETS

    sub = commands.add_parser(
        "protect",
        help="cloak the faces in photos against face recognition",
        description="Protected copies keep each input's name and format; EXIF/GPS metadata is "
        "removed unless --keep-metadata.",
    )
    sub.add_argument("inputs", type=Path, nargs="+", metavar="INPUT", help="photos or folders")
    sub.add_argument("-o", "--outdir", type=Path, required=True, help="folder for the results")
    sub.add_argument("--method", choices=ATTACK_METHODS + CLASSICAL_METHODS, default="pgd")
    sub.add_argument("--strength", choices=sorted(PRESETS), default=DEFAULT_STRENGTH)
    sub.add_argument("--eps", type=float, help="L-inf budget in 0-255 pixel levels")
    sub.add_argument("--steps", type=int, help="attack steps")
    sub.add_argument("--step-size", type=float, help="step size in 0-255 pixel levels")
    sub.add_argument("--lam", type=float, help="P-FGVM realism weight")
    which = sub.add_mutually_exclusive_group()
    which.add_argument(
        "--faces",
        type=_index_list,
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
        "--robust",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="survive JPEG re-compression and resizing (default: on)",
    )
    sub.add_argument("--detector", default=None, help="face detector (default: centerface)")
    sub.add_argument("--keep-metadata", action="store_true", help="keep EXIF (incl. GPS)")
    sub.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    sub.add_argument(
        "--copy-unprotected",
        action="store_true",
        help="copy photos without a face to OUTDIR unchanged",
    )
    _add_common(sub)
    sub.set_defaults(run=_run_protect)


def _add_evaluate(commands: argparse._SubParsersAction) -> None:
    from facecloak.protect import ATTACK_METHODS, CLASSICAL_METHODS, DEFAULT_STRENGTH, PRESETS

    sub = commands.add_parser(
        "evaluate",
        help="measure protection on a labelled folder of photos",
        description="DIR holds labels.csv (path,identity) or one sub-folder per identity.",
    )
    sub.add_argument("folder", type=Path, metavar="DIR")
    sub.add_argument("--method", choices=ATTACK_METHODS + CLASSICAL_METHODS, default="pgd")
    sub.add_argument("--strength", choices=sorted(PRESETS), default=DEFAULT_STRENGTH)
    sub.add_argument("--robust", action=argparse.BooleanOptionalAction, default=True)
    sub.add_argument("--limit", type=int, default=0, help="evaluate only the first N photos")
    sub.add_argument(
        "--report",
        type=Path,
        metavar="OUTDIR",
        help="write report.json, report.md and grid.png there",
    )
    sub.add_argument("--detector", default=None, help="face detector (default: centerface)")
    _add_common(sub)
    sub.set_defaults(run=_run_evaluate)


def _run_evaluate(args: argparse.Namespace) -> int:
    from facecloak.evaluate.protection import evaluate_protection, write_report
    from facecloak.faces import DEFAULT_DETECTOR

    report = evaluate_protection(
        args.folder,
        method=args.method,
        strength=args.strength,
        robust=args.robust,
        detector=args.detector or DEFAULT_DETECTOR,
        limit=args.limit or None,
    )
    summary = report.summary()
    written = write_report(report, args.report) if args.report else {}
    if args.json:
        _print_json({"ok": True, **summary, "report": {k: str(v) for k, v in written.items()}})
    else:
        protected = summary["verification_protected"]
        missed = summary["identification_miss_rate"]
        print(
            f"{summary['photos']} photos, {args.method}/{args.strength}: "
            f"no longer matched {protected['clean']:.1%} (JPEG q75 {protected['jpeg75']:.1%}, "
            f"0.5x {protected['resize50']:.1%}); rank-1 missed {missed['clean']:.1%} "
            f"(unprotected {missed['unprotected']:.1%}); face SSIM "
            f"{summary['face_ssim_mean']:.4f}; {summary['seconds_per_face']:.2f} s per face"
        )
        if written:
            print(f"report: {written['markdown']}")
    return EXIT_OK


def _index_list(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected face numbers like 0,2 - got {text!r}") from exc


def _run_protect(args: argparse.Namespace) -> int:
    from facecloak.protect.batch import protect_files

    report = protect_files(args)
    if args.json:
        _print_json(report)
    else:
        for item in report["photos"]:
            print(_protect_summary(item))
    failed = [p for p in report["photos"] if p["status"] == "error"]
    return EXIT_FAILURE if failed and len(failed) == len(report["photos"]) else EXIT_OK


def _protect_summary(item: dict) -> str:
    if item["status"] != "protected":
        return f"{item['input']}: {item['status']} ({item.get('reason', '')})"
    faces = item["faces_protected"]
    worst = min((f["distance"] for f in faces), default=0.0)
    safe = sum(f["protected"] for f in faces)
    return (
        f"{item['input']} -> {item['output']}: {safe}/{len(faces)} faces no longer match "
        f"(closest distance {worst:.3f}, threshold 0.6) in {item['seconds']:.1f} s"
    )


def _load(path: Path, args: argparse.Namespace):
    from facecloak.images import DEFAULT_MAX_PIXELS, load_image

    limit = DEFAULT_MAX_PIXELS if args.max_pixels is None else int(args.max_pixels)
    return load_image(path, max_pixels=limit)


def _run_detect(args: argparse.Namespace) -> int:
    from facecloak.faces import DEFAULT_DETECTOR, detect
    from facecloak.faces.draw import draw_faces

    rgb = _load(args.image, args)
    detector = args.detector or DEFAULT_DETECTOR
    faces = detect(rgb, detector=detector)
    if args.draw:
        _refuse_to_overwrite_input(args.draw, [args.image])
        args.draw.parent.mkdir(parents=True, exist_ok=True)
        draw_faces(rgb, faces).save(args.draw)
    if args.json:
        _print_json(
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


def _run_compare(args: argparse.Namespace) -> int:
    from facecloak.faces import DEFAULT_DETECTOR
    from facecloak.recognition import compare_embeddings, embed_largest_face

    detector = args.detector or DEFAULT_DETECTOR
    embedded = []
    for path in (args.image_a, args.image_b):
        rgb = _load(path, args)
        try:
            embedded.append(embed_largest_face(rgb, detector=detector))
        except NoFaceError as exc:
            raise NoFaceError(
                f"{path}: no face found ({detector} detector); use a photo where a face is "
                "clearly visible or try --detector cnn"
            ) from exc
    (embedding_a, face_a), (embedding_b, face_b) = embedded
    result = compare_embeddings(embedding_a, embedding_b)
    if args.json:
        _print_json(
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


def _refuse_to_overwrite_input(output: Path, inputs: list[Path]) -> None:
    if any(output.resolve() == path.resolve() for path in inputs):
        raise FacecloakError(f"{output}: would overwrite an input image; choose another path")


def _print_json(payload: dict) -> None:
    print(json.dumps(payload, indent=2))


if __name__ == "__main__":
    sys.exit(main())
