"""Face recognizers looked up by name: every model file registers its :class:`Recognizer`.

The names and model files are listed here (:data:`RECOGNIZER_FILES`), so listing them imports
nothing; a model file (and torch) is imported when its recognizer is first looked up.

>>> sorted(known_recognizers())
['adi_faceid', 'dlib', 'intel_reid0001', 'intel_reid0095', 'mobilefacenet']
>>> load_recognizer("dlib").threshold
0.6
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from facecloak.errors import FacecloakError
from facecloak.models.seeding import keeps_random_state

if TYPE_CHECKING:
    from facecloak.models.recognizer import Recognizer

RECOGNIZER_FILES: dict[str, str] = {
    "adi_faceid": "adi_faceid",
    "dlib": "dlib_resnet",
    "intel_reid0095": "intel_reid0095",
    "intel_reid0001": "intel_reid0001",
    "mobilefacenet": "mobilefacenet",
}
"""Every built-in recognizer's name -> its model file in :mod:`facecloak.models` (whose import
registers it), in the order listings show them."""

logger = logging.getLogger(__name__)


class UnknownRecognizerError(FacecloakError, ValueError):
    """A recognizer name that no model file registered (the message lists the valid names)."""


def known_recognizers() -> list[str]:
    """Names accepted by :func:`load_recognizer`: the built-in ones, then any registered by
    other code (imports nothing)."""
    from sys import modules

    registered = modules.get("facecloak.models.recognizer")
    return list(dict.fromkeys([*RECOGNIZER_FILES, *getattr(registered, "RECOGNIZERS", {})]))


def recognizer_class(name: str) -> type[Recognizer]:
    """The registered class called ``name``.

    Raises:
        UnknownRecognizerError: a ``FacecloakError`` naming the valid choices on one line.
    """
    if name in RECOGNIZER_FILES:
        importlib.import_module(f"facecloak.models.{RECOGNIZER_FILES[name]}")
    from facecloak.models.recognizer import RECOGNIZERS

    cls = RECOGNIZERS.get(name)
    if cls is None:
        raise UnknownRecognizerError(
            f"unknown recognizer {name!r}; choose one of: {', '.join(known_recognizers())}"
        )
    return cls


@keeps_random_state
def load_recognizer(name: str = "dlib", path: str | Path | None = None) -> Recognizer:
    """The recognizer ``name`` in eval mode with frozen weights.

    ``path`` overrides where its weights are read from (default: the installed dlib model, or
    ``<shared>/models/<folder>/`` for the others: see :func:`available_recognizers`).

    Raises:
        UnknownRecognizerError: ``name`` is not registered.
        ModelNotFoundError: the weights are absent (the message says where it looked).
    """
    recognizer = recognizer_class(name).load(path).in_fast_layout()
    logger.debug("loaded recognizer %s", name)
    return recognizer


def available_recognizers() -> dict[str, str | None]:
    """Every registered name -> ``None`` when it can load here, else the reason it cannot.

    >>> available_recognizers()["dlib"] is None
    True
    """
    return {name: recognizer_class(name).unavailable_reason() for name in known_recognizers()}
