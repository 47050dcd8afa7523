"""``facecloak train``: train an identity classifier on a labelled folder of photos."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from facecloak.cli import checks, choices
from facecloak.cli.common import (
    EXIT_OK,
    Subcommands,
    add_common,
    add_detector_option,
    check_output_dir,
    check_output_file,
    print_json,
    refuse,
)

if TYPE_CHECKING:
    from facecloak.classify import EpochStats, TrainConfig

MIN_IMAGE_SIZE, MAX_IMAGE_SIZE = 16, 1024
"""The network input sides ``--image-size`` accepts."""


def add_parser(subcommands: Subcommands) -> None:
    from facecloak.classify import DEFAULT_CACHE_DIR

    sub = subcommands.add_parser(
        "train",
        help="train an identity classifier on a labelled folder of photos",
        description="DATASET holds labels.csv (path,identity) or one sub-folder per identity. "
        "Each photo's face is aligned to a 150x150 chip (cached); the epoch with the best "
        "validation accuracy is saved with its class names and preprocessing.",
    )
    sub.add_argument("dataset", type=Path, metavar="DATASET")
    sub.add_argument("-o", "--output", type=Path, required=True, metavar="MODEL.pt")
    sub.add_argument("--arch", choices=choices.architectures(), default="small-cnn")
    _add_training_options(sub)
    sub.add_argument(
        "--min-per-identity",
        type=checks.integer(1),
        default=2,
        metavar="N",
        help="leave out identities with fewer photos with a face (default 2)",
    )
    sub.add_argument(
        "--aligned", action="store_true", help="photos already are face chips: skip detection"
    )
    sub.add_argument(
        "--cache",
        type=Path,
        default=DEFAULT_CACHE_DIR,
        metavar="DIR",
        help=f"where aligned chips are cached (default {DEFAULT_CACHE_DIR})",
    )
    sub.add_argument("--seed", type=checks.integer(0, 2**32 - 1), default=0)
    add_detector_option(sub)
    sub.add_argument("--overwrite", action="store_true", help="replace an existing MODEL.pt")
    add_common(sub, max_pixels=False)
    sub.set_defaults(run=run)


def _add_training_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--epochs", type=checks.integer(1), help="passes over the data (default: per arch)"
    )
    sub.add_argument(
        "--lr", type=checks.real(0, low_open=True), help="peak learning rate (default: per arch)"
    )
    sub.add_argument("--batch-size", type=checks.integer(2), default=32, help="(>= 2)")
    sub.add_argument(
        "--val-split",
        type=checks.real(0, 1, high_open=True),
        default=0.2,
        help="share of each identity held out, in [0, 1) (0: none)",
    )
    sub.add_argument(
        "--image-size",
        type=checks.integer(MIN_IMAGE_SIZE, MAX_IMAGE_SIZE),
        help="network input side (default: per arch)",
    )


def check(args: argparse.Namespace) -> TrainConfig:
    """The training settings, once every option was checked (before any work)."""
    from facecloak.classify import TrainConfig

    check_output_file("-o/--output", args.output, [], args.overwrite)
    check_output_dir("--cache", args.cache)
    if args.aligned and args.detector is not None:
        raise refuse("--detector", f"{args.detector!r} does not apply to --aligned face chips")
    try:
        return TrainConfig(
            arch=args.arch,
            epochs=args.epochs,
            lr=args.lr,
            batch_size=args.batch_size,
            image_size=args.image_size,
            seed=args.seed,
        ).resolved()
    except ValueError as exc:
        option, value = ("--image-size", args.image_size) if args.image_size else ("--arch", None)
        shown = f"{str(value)!r} with --arch {args.arch}" if value else repr(args.arch)
        raise refuse(option, f"{shown}: {exc}") from exc


def run(args: argparse.Namespace) -> int:
    from facecloak.classify import load_chip_set, split_per_identity, train_classifier
    from facecloak.models import DEFAULT_DETECTOR

    config = check(args)
    chips = load_chip_set(
        args.dataset,
        min_per_identity=args.min_per_identity,
        cache_dir=args.cache,
        detector=args.detector or DEFAULT_DETECTOR,
        aligned=args.aligned,
        progress=not args.json,
    )
    train, val = chips, None
    if args.val_split > 0:
        train, val = split_per_identity(chips, fraction=args.val_split, seed=args.seed)
        val = val if len(val) else None
    result = train_classifier(
        train,
        val,
        config,
        output=args.output,
        progress=not args.json,
        on_epoch=None if args.json else _epoch_printer(config.epochs),
    )
    if args.json:
        print_json(
            {
                "ok": True,
                "model": str(args.output),
                "arch": config.arch,
                "classes": chips.num_classes,
                "train_chips": len(train),
                "val_chips": 0 if val is None else len(val),
                **result.record(),
            }
        )
        return EXIT_OK
    best = result.best
    accuracy = "" if best.val_accuracy is None else f", val accuracy {best.val_accuracy:.1%}"
    print(
        f"saved {args.output}: {config.arch}, {chips.num_classes} identities, "
        f"{len(train)} training chips, best epoch {result.best_epoch}{accuracy} "
        f"({result.seconds:.0f} s)"
    )
    return EXIT_OK


def _epoch_printer(epochs: int) -> Callable[[EpochStats], None]:
    from tqdm import tqdm

    def report(stats: EpochStats) -> None:
        held_out = stats.val_accuracy
        val_text = "" if held_out is None else f", val accuracy {held_out:.1%}"
        tqdm.write(
            f"epoch {stats.epoch}/{epochs}: loss {stats.train_loss:.4f}, "
            f"train accuracy {stats.train_accuracy:.1%}{val_text} ({stats.seconds:.1f} s)"
        )

    return report
