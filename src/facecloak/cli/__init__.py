"""The ``facecloak`` command line: one module per command, each with ``add_parser`` and ``run``.

Every command takes ``--json`` for machine-readable output and exits 0 on success. A bad option
or value is refused before any work with one line naming it and what is valid (exit 2); a failure
during the work prints one line saying what went wrong and what to do (exit 1). No traceback;
with ``--json`` stdout always holds one JSON document.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from facecloak import __version__
from facecloak.cli import (
    classify,
    compare,
    detect,
    evaluate,
    evaluate_detection,
    lineup,
    protect,
    serve,
    train,
)
from facecloak.cli.common import EXIT_OK, HANDLED_ERRORS, Parser, UsageError, failure
from facecloak.cli.common import report_failure as _report

COMMANDS = (
    detect,
    compare,
    protect,
    evaluate,
    evaluate_detection,
    lineup,
    train,
    classify,
    serve,
)
"""The command modules, in the order ``facecloak --help`` lists them."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``facecloak`` command; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    json_mode = "--json" in argv[: argv.index("--")] if "--" in argv else "--json" in argv
    try:
        args = build_parser().parse_args(argv)
    except UsageError as exc:
        return _report(*failure(exc), json_mode)
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return args.run(args)
    except HANDLED_ERRORS as exc:
        return _report(*failure(exc), getattr(args, "json", False))


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command (its choices read from the registries)."""
    parser = Parser(
        prog="facecloak",
        description="Protect faces in photos from face recognition and detection.",
    )
    parser.add_argument("--version", action="version", version=f"facecloak {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    subcommands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(subcommands)
    return parser


__all__ = ["build_parser", "main"]
