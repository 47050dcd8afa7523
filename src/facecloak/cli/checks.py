"""argparse ``type=`` functions: each turns one option's text into a value or refuses it with a
message naming the value and the valid range or choices (argparse adds the option's name).

>>> real(0, 1, low_open=True)("0.5")
0.5
>>> integer(1)("0")
Traceback (most recent call last):
...
argparse.ArgumentTypeError: '0' is not an integer >= 1
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Iterable


def real(
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> Callable[[str], float]:
    """A finite number in ``[low, high]`` (``(`` / ``)`` where open; ``None``: unbounded)."""
    wanted = "a number " + _range(low, high, low_open, high_open)

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not _inside(value, low, high, low_open, high_open):
            raise argparse.ArgumentTypeError(f"{text!r} is not {wanted}")
        return value

    parse.__name__ = "number"
    return parse


def integer(low: int | None = None, high: int | None = None) -> Callable[[str], int]:
    """A whole number in ``[low, high]`` (``None``: unbounded)."""
    wanted = "an integer " + _range(low, high, False, False)

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {wanted}") from None
        if not _inside(value, low, high, False, False):
            raise argparse.ArgumentTypeError(f"{text!r} is not {wanted}")
        return value

    parse.__name__ = "integer"
    return parse


def max_pixels(text: str) -> int:
    """``--max-pixels``: a whole, finite number of pixels >= 0 (``40e6`` is fine; 0: no limit)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0 and value == int(value)):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a whole number of pixels >= 0 (e.g. 40e6; 0 for no limit)"
        )
    return int(value)


def indices(text: str) -> list[int]:
    """``--faces``: face numbers (as ``facecloak detect`` prints them) like ``0,2``."""
    parts = [part.strip() for part in text.split(",")]
    if not all(part.isascii() and part.isdigit() for part in parts):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a list of face numbers >= 0 like 0,2 (see `facecloak detect`)"
        )
    return [int(part) for part in parts]


def names(choices: Iterable[str], what: str) -> Callable[[str], list[str]]:
    """A comma-separated list of names, each one of ``choices`` (e.g. ``centerface,yunet``)."""
    valid = list(choices)
    listed = ", ".join(valid)

    def parse(text: str) -> list[str]:
        chosen = [part.strip() for part in text.split(",") if part.strip()]
        if not chosen:
            raise argparse.ArgumentTypeError(f"{text!r} names no {what}; choose from {listed}")
        unknown = [name for name in chosen if name not in valid]
        if unknown:
            where = f" in {text!r}" if len(chosen) > 1 else ""
            raise argparse.ArgumentTypeError(
                f"unknown {what} {unknown[0]!r}{where}; choose from {listed}"
            )
        return list(dict.fromkeys(chosen))

    parse.__name__ = f"{what} list"
    return parse


def _inside(
    value: float, low: float | None, high: float | None, low_open: bool, high_open: bool
) -> bool:
    if not math.isfinite(value):
        return False
    if low is not None and (value < low or (low_open and value == low)):
        return False
    return high is None or not (value > high or (high_open and value == high))


def _range(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    if low is not None and high is not None:
        return f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if low is not None:
        return f"{'>' if low_open else '>='} {low:g}"
    if high is not None:
        return f"{'<' if high_open else '<='} {high:g}"
    return "(finite)"
