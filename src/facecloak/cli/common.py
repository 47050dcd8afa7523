"""What every command shares: the ``--json`` / ``--max-pixels`` / ``-v`` options, printing, and
how a failure ends a run (one line, an exit code, a JSON document with ``--json``)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from facecloak.cli import checks, choices
from facecloak.errors import FacecloakError, InvalidOptionError

if TYPE_CHECKING:
    import numpy as np

EXIT_OK = 0
EXIT_FAILURE = 1
"""The work failed (unreadable photo, no face, missing model...)."""
EXIT_USAGE = 2
"""The command line is wrong; nothing was done."""

Subcommands = argparse._SubParsersAction
"""What ``add_parser(subcommands)`` of each command module receives."""


class UsageError(Exception):
    """A bad command line: one line naming the option, its value and what is valid (exit 2).
    The library's :class:`~facecloak.errors.InvalidOptionError` exits with 2 as well."""


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are raised (as :class:`UsageError`), not printed with
    the usage and ``sys.exit(2)``: :func:`facecloak.cli.main` prints them as one line."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


HANDLED_ERRORS = (UsageError, FacecloakError, KeyboardInterrupt, MemoryError)
"""Exceptions :func:`facecloak.cli.main` turns into one line and an exit code."""


def failure(exc: BaseException) -> tuple[int, str]:
    """The exit code and the one-line message for an exception of :data:`HANDLED_ERRORS`."""
    if isinstance(exc, UsageError | InvalidOptionError):
        return EXIT_USAGE, str(exc)
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_FAILURE, "interrupted"
    if isinstance(exc, MemoryError):
        return EXIT_FAILURE, "out of memory; try a smaller image"
    return EXIT_FAILURE, str(exc)


def report_failure(code: int, message: str, json_mode: bool) -> int:
    """Print ``message`` as one line on stderr (and ``{"ok": false}`` on stdout with --json)."""
    line = " ".join(message.split())
    if json_mode:
        print(json.dumps({"ok": False, "error": line}))
    print(f"facecloak: error: {line}", file=sys.stderr)
    return code


def refuse(option: str, message: str) -> UsageError:
    """A :class:`UsageError` about ``option``, worded like argparse's own errors."""
    return UsageError(f"argument {option}: {message}")


def add_detector_option(sub: argparse.ArgumentParser) -> None:
    """``--detector``, its choices from the detector registry."""
    sub.add_argument(
        "--detector",
        choices=choices.detectors(),
        default=None,
        help="face detector (default: centerface)",
    )


def add_common(sub: argparse.ArgumentParser, *, max_pixels: bool = True) -> None:
    """``--json``, ``--max-pixels`` (for commands that read photos) and ``-v``."""
    sub.add_argument("--json", action="store_true", help="print machine-readable JSON")
    if max_pixels:
        sub.add_argument(
            "--max-pixels",
            type=checks.max_pixels,
            default=None,
            metavar="N",
            help="refuse images above N pixels (default 40e6; 0 for no limit)",
        )
    # SUPPRESS: a -v before the command name is not reset by the command's own default
    sub.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="log what happens"
    )


def print_json(payload: dict) -> None:
    print(json.dumps(payload, indent=2))


def maybe(value: float | None, spec: str) -> str:
    """``value`` formatted with ``spec``, or ``-`` when there is none."""
    return "-" if value is None else format(value, spec)


def load(path: Path, args: argparse.Namespace) -> np.ndarray:
    """The photo at ``path`` as RGB, within the command's ``--max-pixels``."""
    from facecloak.images import DEFAULT_MAX_PIXELS, load_image

    limit = DEFAULT_MAX_PIXELS if args.max_pixels is None else args.max_pixels
    return load_image(path, max_pixels=limit)


def check_output_dir(option: str, folder: Path | None) -> None:
    """Refuse a folder to write into that is a file or lies under a file."""
    if folder is None:
        return
    if folder.exists() and not folder.is_dir():
        raise refuse(option, f"{str(folder)!r} is a file, not a folder; name a folder")
    blocker = _file_ancestor(folder)
    if blocker is not None:
        raise refuse(option, f"{str(folder)!r} lies under the file {str(blocker)!r}")


def check_output_file(option: str, path: Path, inputs: list[Path], overwrite: bool) -> None:
    """Refuse to write ``path`` over an input, over an existing file without ``--overwrite``, over
    a folder, or where its folder does not exist."""
    if any(path.resolve() == source.resolve() for source in inputs):
        raise refuse(option, f"{str(path)!r} would overwrite an input image; choose another path")
    if path.is_dir():
        raise refuse(option, f"{str(path)!r} is a folder; name a file")
    if path.exists() and not overwrite:
        raise refuse(option, f"{str(path)!r} already exists; pass --overwrite to replace it")
    parent = path.parent
    if not parent.is_dir():
        problem = "is not a folder" if parent.exists() else "does not exist"
        raise refuse(option, f"{str(path)!r}: its folder {str(parent)!r} {problem}")


def check_recognizers(option: str, names: list[str]) -> None:
    """Refuse recognizers that are registered but cannot load here, with the reason."""
    unavailable = choices.unavailable_recognizers(names)
    if unavailable:
        name, reason = next(iter(unavailable.items()))
        raise refuse(option, f"{name!r} cannot be used here: {reason}")


def _file_ancestor(path: Path) -> Path | None:
    for parent in path.absolute().parents:
        if parent.exists():
            return None if parent.is_dir() else parent
    return None
