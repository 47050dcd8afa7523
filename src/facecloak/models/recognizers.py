"""Face recognizers looked up by name: every model file registers its :class:`Recognizer`.

>>> sorted(known_recognizers())
['adi_faceid', 'dlib', 'intel_reid0001', 'intel_reid0095', 'mobilefacenet']
>>> load_recognizer("dlib").threshold
0.6
"""

from __future__ import annotations

import logging
from pathlib import Path

# Importing a model file registers its recognizer (order = the order of the listings).
from facecloak.errors import FacecloakError
from facecloak.models import (  # noqa: F401
    adi_faceid,
    dlib_resnet,
    intel_reid0001,
    intel_reid0095,
    mobilefacenet,
)
from facecloak.models.recognizer import RECOGNIZERS, Recognizer

logger = logging.getLogger(__name__)


class UnknownRecognizerError(FacecloakError, ValueError):
    """A recognizer name that no model file registered (the message lists the valid names)."""


def known_recognizers() -> list[str]:
    """Names accepted by :func:`load_recognizer`, in registration order."""
    return list(RECOGNIZERS)


def recognizer_class(name: str) -> type[Recognizer]:
    """The registered class called ``name``.

    Raises:
        UnknownRecognizerError: a ``FacecloakError`` naming the valid choices on one line.
    """
    cls = RECOGNIZERS.get(name)
    if cls is None:
        raise UnknownRecognizerError(
            f"unknown recognizer {name!r}; choose one of: {', '.join(known_recognizers())}"
        )
    return cls


def load_recognizer(name: str = "dlib", path: str | Path | None = None) -> Recognizer:
    """The recognizer ``name`` in eval mode with frozen weights.

    ``path`` overrides where its weights are read from (default: the installed dlib model, or
    ``<shared>/models/<folder>/`` for the others: see :func:`available_recognizers`).

    Raises:
        UnknownRecognizerError: ``name`` is not registered.
        ModelNotFoundError: the weights are absent (the message says where it looked).
    """
    recognizer = recognizer_class(name).load(path)
    logger.debug("loaded recognizer %s", name)
    return recognizer


def available_recognizers() -> dict[str, str | None]:
    """Every registered name -> ``None`` when it can load here, else the reason it cannot.

    >>> available_recognizers()["dlib"] is None
    True
    """
    return {name: cls.unavailable_reason() for name, cls in RECOGNIZERS.items()}
