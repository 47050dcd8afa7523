"""``facecloak lineup``: a line-up test people take in a browser, and its score.

``facecloak lineup FACES_DIR -o lineup/`` changes the first photo of each person of a labelled
folder (``--method``, default ``swap`` with ``--donors``, else ``blur``) and writes
``lineup/index.html`` (give it to participants) and ``lineup/key.json`` (keep it).
``facecloak lineup --score answers.json ... --key lineup/key.json`` pools the exported answers
into the re-identification rate with its Wilson 95% interval.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from facecloak.cli import checks, choices
from facecloak.cli.common import (
    EXIT_OK,
    Subcommands,
    add_common,
    add_detector_option,
    check_output_dir,
    print_json,
    refuse,
)
from facecloak.errors import FacecloakError

if TYPE_CHECKING:
    import numpy as np

    from facecloak.evaluate.lineup import Change
    from facecloak.faces import Face


def add_parser(subcommands: Subcommands) -> None:
    sub = subcommands.add_parser(
        "lineup",
        help="write a line-up test for people (who is this changed face?) or score its answers",
        description="Each trial: a changed photo and 9 candidates, one of them another photo of "
        "the same person. Answers stay in the browser until exported as JSON.",
    )
    sub.add_argument(
        "faces_dir",
        type=Path,
        nargs="?",
        metavar="FACES_DIR",
        help="labelled photos (labels.csv or one sub-folder per person), >= 9 people",
    )
    sub.add_argument("-o", "--outdir", type=Path, help="folder for index.html and key.json")
    visible = choices.obfuscations() + choices.replacements()
    sub.add_argument(
        "--method",
        choices=visible,
        default=None,
        help="how the faces are changed (default: swap with --donors, else blur)",
    )
    sub.add_argument("--donors", type=Path, metavar="DIR", help="donor photos for --method swap")
    sub.add_argument("--trials", type=checks.integer(1), help="at most this many trials")
    sub.add_argument("--seed", type=checks.integer(0), default=0, help="order of the candidates")
    sub.add_argument(
        "--score", type=Path, nargs="+", metavar="ANSWERS.json", help="score exported answers"
    )
    sub.add_argument("--key", type=Path, metavar="KEY.json", help="with --score: the test's key")
    add_detector_option(sub)
    add_common(sub, max_pixels=False)
    sub.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.score:
        return _score(args)
    _check_write(args)
    from facecloak.datasets import read_labelled_folder
    from facecloak.evaluate.lineup import write_lineup
    from facecloak.models import DEFAULT_DETECTOR

    change = _change(args)
    photos = read_labelled_folder(args.faces_dir)
    detector = args.detector or DEFAULT_DETECTOR
    files = write_lineup(photos, change, args.outdir, args.trials, args.seed, detector)
    if args.json:
        print_json(
            {"ok": True, "page": str(files.page), "key": str(files.key), "trials": files.trials}
        )
    else:
        print(f"{files.trials} trials: give {files.page} to participants; keep {files.key}")
    return EXIT_OK


def _check_write(args: argparse.Namespace) -> None:
    if args.key is not None:
        raise refuse("--key", "applies to --score only")
    if args.faces_dir is None:
        raise refuse("FACES_DIR", "is required: a folder of labelled photos (or use --score)")
    if args.outdir is None:
        raise refuse("-o/--outdir", "is required: the folder for index.html and key.json")
    check_output_dir("-o/--outdir", args.outdir)
    method = args.method or ("swap" if args.donors else "blur")
    if method == "swap" and args.donors is None:
        raise refuse("--method", "'swap' needs --donors DIR: a folder of donor face photos")
    if args.donors is not None and method != "swap":
        raise refuse("--donors", f"applies to --method swap, not --method {method}")
    args.method = method


def _change(args: argparse.Namespace) -> Change:
    """The protection each trial's photo gets (its face given, so only that face changes)."""
    from facecloak.protect import ProtectConfig, protect

    fields = {"method": args.method, "detector": args.detector or ProtectConfig.detector}
    config = ProtectConfig(**fields, **({"donors": args.donors} if args.donors else {}))

    def change(rgb: np.ndarray, face: Face) -> np.ndarray:
        return protect(rgb, config, detected=[face]).image

    return change


def _score(args: argparse.Namespace) -> int:
    if args.key is None:
        raise refuse("--score", "needs --key KEY.json (written beside the test's index.html)")
    if args.faces_dir is not None or args.outdir is not None:
        raise refuse("--score", "takes answer files only; drop FACES_DIR and -o")
    from facecloak.evaluate.lineup import score_lineup

    key = _read_json(args.key)
    score = score_lineup([_read_json(path) for path in args.score], key)
    if args.json:
        print_json({"ok": True, **score.to_dict()})
    else:
        print(
            f"re-identified {score.right} of {score.answered} trials: {score.rate:.1%} "
            f"(95% CI {score.low:.1%} to {score.high:.1%}; chance {score.chance:.1%})"
        )
    return EXIT_OK


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise FacecloakError(f"{path}: not a readable JSON file ({exc})") from exc
