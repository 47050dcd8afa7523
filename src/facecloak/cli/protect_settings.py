"""``facecloak protect``'s options turned into :class:`~facecloak.protect.ProtectConfig`
fields, and refused, before any photo is read, where they cannot work together or would be
silently ignored (:func:`check`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from facecloak.cli import choices
from facecloak.cli.common import check_output_dir, check_recognizers, refuse

OVERRIDES = ("eps", "steps", "step_size", "lam")
"""Options that override the preset of ``--strength``."""


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
