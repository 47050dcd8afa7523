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
from types import ModuleType

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
    train_replacer,
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
    train_replacer,
    classify,
    serve,
)
"""The command modules, in the order ``facecloak --help`` lists them."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``facecloak`` command; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    json_mode = "--json" in argv[: argv.index("--")] if "--" in argv else "--json" in argv
    try:
        args = build_parser(_command_in(argv)).parse_args(argv)
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


def command_name(command: ModuleType) -> str:
    """The name a command module is called by (``evaluate_detection`` -> ``evaluate-detection``)."""
    return command.__name__.rsplit(".", 1)[-1].replace("_", "-")


def _command_in(argv: list[str]) -> str | None:
    """The command ``argv`` runs (its first word, after the global options), if it names one."""
    words = [word for word in argv if not word.startswith("-")]
    names = {command_name(command) for command in COMMANDS}
    return words[0] if words and words[0] in names else None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command (its choices read from the registries), or of ``command``
    only: a run builds just its own command's options, so it imports only what they need."""
    parser = Parser(
        prog="facecloak",
        description="Protect faces in photos from face recognition and detection.",
    )
    parser.add_argument("--version", action="version", version=f"facecloak {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    subcommands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        if command is None or command_name(module) == command:
            module.add_parser(subcommands)
    return parser


__all__ = ["build_parser", "main"]
