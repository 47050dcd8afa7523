"""``facecloak evaluate-detection``: measure how well protection hides faces from detectors."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from facecloak.cli import checks, choices
from facecloak.cli.common import (
    EXIT_OK,
    Subcommands,
    add_common,
    check_output_dir,
    maybe,
    print_json,
    refuse,
)

if TYPE_CHECKING:
    from facecloak.evaluate.detection_protection import Protector

CLOAK = "cloak"
"""``--method`` of the detector-evasion cloak (the others are classical obfuscations)."""
CLOAK_ONLY = ("against", "eps", "steps", "robust", "attack_detectors")
"""Options that only the evasion cloak uses."""


def add_parser(subcommands: Subcommands) -> None:
    from facecloak.protect import DEFAULT_EVASION

    sub = subcommands.add_parser(
        "evaluate-detection",
        help="measure how well protection hides faces from face detectors",
        description="Protect every photo of DIR (recursively) and run each detector on the "
        "original and the protected photo, clean and after JPEG q75: AP / recall / precision at "
        "IoU 0.5 on labelled photos, detection rate (share of the faces found on the original "
        "still found) on all, face-region SSIM, seconds per photo.",
    )
    sub.add_argument("folder", type=Path, metavar="DIR", help="a folder of photos")
    sub.add_argument(
        "--boxes",
        type=Path,
        metavar="CSV",
        help="labelled faces (path,left,top,width,height; paths relative to DIR); "
        "default DIR/boxes.csv when it exists",
    )
    sub.add_argument(
        "--method",
        choices=(CLOAK, *choices.obfuscations()),
        default=CLOAK,
        help="the detector-evasion cloak (default) or a classical baseline",
    )
    sub.add_argument(
        "--against",
        choices=[a for a in choices.against() if a != "recognition"],
        default=None,
        help="what the cloak is against (default: detection)",
    )
    sub.add_argument(
        "--eps",
        type=checks.real(0, 1, low_open=True),
        default=None,
        help=f"L-inf budget, (0, 1] scale (default {DEFAULT_EVASION.eps})",
    )
    sub.add_argument(
        "--steps",
        type=checks.integer(1),
        default=None,
        help=f"attack iterations (default {DEFAULT_EVASION.steps})",
    )
    sub.add_argument(
        "--robust",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="survive JPEG re-compression (default: on)",
    )
    _add_detector_options(sub)
    sub.add_argument(
        "--limit", type=checks.integer(1), default=None, help="evaluate only the first N photos"
    )
    sub.add_argument(
        "--report", type=Path, metavar="OUTDIR", help="write report.json, report.md and grid.png"
    )
    add_common(sub)
    sub.set_defaults(run=run)


def _add_detector_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--detectors",
        type=checks.names(choices.detectors(), "detector"),
        default=None,
        metavar="A,B",
        help="detectors to evaluate (default: every installed one but the slow cnn)",
    )
    sub.add_argument(
        "--attack-detectors",
        type=checks.names(choices.evasion_detectors(), "detector"),
        default=None,
        metavar="A,B",
        help="detectors the cloak is computed against (default: centerface): "
        + ", ".join(choices.evasion_detectors()),
    )


def check(args: argparse.Namespace) -> None:
    """Refuse, before any work, cloak options given with a classical method."""
    check_output_dir("--report", args.report)
    if args.method == CLOAK:
        return
    for name in CLOAK_ONLY:
        value = getattr(args, name)
        if isinstance(value, bool):
            option = "--robust" if value else "--no-robust"
            raise refuse(option, f"applies to --method {CLOAK} only, not {args.method}")
        if value is not None:
            shown = ",".join(value) if isinstance(value, list) else str(value)
            option = "--" + name.replace("_", "-")
            raise refuse(option, f"{shown!r} applies to --method {CLOAK} only, not {args.method}")


def run(args: argparse.Namespace) -> int:
    from facecloak.evaluate import detection_protection as dp

    check(args)
    photos = dp.photos_from_folder(args.folder, args.boxes, limit=args.limit)
    report = dp.evaluate_detection_protection(
        photos,
        _protector(args),
        args.detectors or [d for d in dp.DEFAULT_DETECTORS if d != "cnn"],
        skip_unknown=args.detectors is None,
    )
    summary = report.summary()
    written = report.write_report(args.report) if args.report else {}
    if args.json:
        print_json({"ok": True, **summary, "report": {k: str(v) for k, v in written.items()}})
        return EXIT_OK
    ssim = maybe(summary["face_ssim_mean"], ".4f")
    print(
        f"{summary['photos']} photos, {summary['protector']}: "
        f"{summary['seconds_per_photo']:.2f} s per photo, face SSIM {ssim} "
        f"(min {maybe(summary['face_ssim_min'], '.4f')})"
    )
    for name, entry in summary["detectors"].items():
        print(_detection_line(name, entry))
    for name, reason in summary["skipped_detectors"].items():
        print(f"  {name}: skipped ({reason})")
    if written:
        print(f"report: {written['markdown']}")
    return EXIT_OK


def _protector(args: argparse.Namespace) -> Protector:
    from facecloak.evaluate import detection_protection as dp
    from facecloak.protect import DEFAULT_EVASION

    if args.method != CLOAK:
        return dp.classical_protector(args.method)
    return dp.cloak_protector(
        against=args.against or "detection",
        eps=DEFAULT_EVASION.eps if args.eps is None else args.eps,
        steps=DEFAULT_EVASION.steps if args.steps is None else args.steps,
        robust=args.robust is not False,
        attack_detectors=args.attack_detectors or ["centerface"],
    )


def _detection_line(name: str, entry: dict) -> str:
    """One detector's result: detection rates, and recall / AP before -> after when labelled."""
    images = ("protected", "protected_jpeg75", "original_jpeg75")
    rate = {image: maybe(entry[image]["detection_rate"], ".1%") for image in images}
    line = (
        f"  {name} ({entry['role']}): detection rate {rate['protected']} "
        f"(JPEG q75 {rate['protected_jpeg75']}; unprotected after JPEG q75 "
        f"{rate['original_jpeg75']})"
    )
    before, after = entry["original"], entry["protected"]
    if "recall" in before:
        line += (
            f"; recall {before['recall']:.3f} -> {after['recall']:.3f}, "
            f"AP {before['ap']:.3f} -> {after['ap']:.3f}"
        )
    return line
