"""``facecloak evaluate``: measure protection on a labelled folder of photos."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

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
from facecloak.errors import FacecloakError

if TYPE_CHECKING:
    from facecloak.evaluate.protection import ProtectionReport


def add_parser(subcommands: Subcommands) -> None:
    sub = subcommands.add_parser(
        "evaluate",
        help="measure protection on a labelled folder of photos",
        description="DIR holds labels.csv (path,identity) or one sub-folder per identity.",
    )
    sub.add_argument("folder", type=Path, metavar="DIR")
    sub.add_argument("--method", choices=choices.methods(), default=choices.DEFAULT_METHOD)
    sub.add_argument("--strength", choices=choices.strengths(), default=choices.default_strength())
    sub.add_argument("--robust", action=argparse.BooleanOptionalAction, default=True)
    sub.add_argument(
        "--limit", type=checks.integer(1), default=None, help="evaluate only the first N photos"
    )
    sub.add_argument(
        "--report",
        type=Path,
        metavar="OUTDIR",
        help="write report.json, report.md and grid.png there",
    )
    extra = choices.extra_recognizers()
    sub.add_argument(
        "--check-with",
        type=checks.names(extra, "recognizer"),
        default=None,
        metavar="NAME,...",
        help=f"more recognizers to check the result with ({', '.join(extra)}; default: every "
        "one that can load here): transfer, unless --ensemble",
    )
    sub.add_argument(
        "--ensemble", action="store_true", help="the cloak attacks the --check-with ones too"
    )
    add_detector_option(sub)
    add_common(sub)
    sub.set_defaults(run=run)


def check(args: argparse.Namespace) -> None:
    """Refuse, before any work, options that cannot work together."""
    check_output_dir("--report", args.report)
    if args.check_with is None:
        from facecloak.recognition import usable_recognizers

        args.check_with = [n for n in usable_recognizers() if n != choices.DEFAULT_RECOGNIZER]
    if args.ensemble and not args.check_with:
        raise refuse(
            "--ensemble",
            "needs a recognizer besides dlib: none can load here (see ../shared/models) and no "
            "--check-with NAME was given",
        )
    if args.ensemble and args.method != choices.DEFAULT_METHOD:
        raise refuse(
            "--ensemble", f"needs --method {choices.DEFAULT_METHOD}, not --method {args.method}"
        )
    # Last: whether the recognizers can load depends on the machine, the rest does not.
    check_recognizers("--check-with", args.check_with)


def run(args: argparse.Namespace) -> int:
    from facecloak.evaluate.protection import evaluate_protection, load_judges
    from facecloak.models import DEFAULT_DETECTOR

    check(args)
    try:
        judges = load_judges(args.check_with, attacked=args.ensemble)
    except ValueError as exc:  # a registered recognizer the evaluation cannot use yet
        raise refuse("--check-with", f"{','.join(args.check_with)!r}: {exc}") from exc
    report = evaluate_protection(
        args.folder,
        method=args.method,
        strength=args.strength,
        robust=args.robust,
        detector=args.detector or DEFAULT_DETECTOR,
        limit=args.limit,
        judges=judges,
    )
    summary = report.summary()
    written, report_error = _write(report, args.report)
    ok = not report_error and not summary["photos_failed"]
    if args.json:
        print_json(
            {
                "ok": ok,
                **summary,
                "report": {k: str(v) for k, v in written.items()},
                **({"error": report_error} if report_error else {}),
            }
        )
        return EXIT_OK if ok else EXIT_FAILURE
    _print_summary(summary, args.method, args.strength)
    if written:
        print(f"report: {written['markdown']}")
    if report_error:
        print(f"facecloak: error: {report_error}", file=sys.stderr)
    return EXIT_OK if ok else EXIT_FAILURE


def _write(report: ProtectionReport, folder: Path | None) -> tuple[dict[str, Path], str]:
    """The report's files, or the one-line reason they could not be written."""
    from facecloak.evaluate.protection import write_report

    if folder is None:
        return {}, ""
    try:
        return write_report(report, folder), ""
    except FacecloakError as exc:
        return {}, str(exc)


def _print_summary(summary: dict, method: str, strength: str) -> None:
    print(_headline(summary, method, strength))
    for name, other in summary["other_recognizers"].items():
        print(
            f"  {name} ({other['role']}): no longer matched "
            f"{other['verification_protected']['clean']:.1%} (JPEG q75 "
            f"{other['verification_protected']['jpeg75']:.1%}); rank-1 missed "
            f"{other['identification_miss_rate']['clean']:.1%}"
        )
    for reason in summary["failed"]:
        print(f"  failed: {reason}")
    if summary["photos_failed"]:
        print(f"{summary['photos']} evaluated, {summary['photos_failed']} failed")


def _headline(summary: dict, method: str, strength: str) -> str:
    protected = summary["verification_protected"]
    missed = summary["identification_miss_rate"]
    return (
        f"{summary['photos']} photos, {method}/{strength}: "
        f"no longer matched {protected['clean']:.1%} (JPEG q75 {protected['jpeg75']:.1%}, "
        f"0.5x {protected['resize50']:.1%}); rank-1 missed {missed['clean']:.1%} "
        f"(unprotected {missed['unprotected']:.1%}); face SSIM "
        f"{summary['face_ssim_mean']:.4f}, SSIMULACRA2 {summary['face_ssimulacra2_mean']:.1f}; "
        f"{summary['seconds_per_face']:.2f} s per face"
    )
