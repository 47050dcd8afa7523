"""The work behind the API: options checked into a :class:`ProtectConfig`, one photo protected
and reported, and the shared model pool.

Example:
    >>> protect_options("recognition", "blur", "low")
    {'against': 'recognition', 'method': 'blur', 'strength': 'low'}
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from facecloak.errors import InvalidOptionError
from facecloak.protect import (
    AGAINST,
    ATTACK_METHODS,
    CLASSICAL_METHODS,
    DEFAULT_STRENGTH,
    PRESETS,
    ProtectConfig,
    protect,
)
from facecloak.web.analysis import ModelPool, photo_report
from facecloak.web.jobs import Photo
from facecloak.web.uploads import Caps, amplified_difference, decode_photo, encode_png

logger = logging.getLogger(__name__)

CLOAK = "cloak"
"""The method name the page shows for the preset's attack (``ProtectConfig(method=None)``)."""
METHODS = (CLOAK, *CLASSICAL_METHODS, *ATTACK_METHODS)


def protect_options(against: str, method: str, strength: str) -> dict:
    """The options of a job, checked; raises :class:`InvalidOptionError` (one line)."""
    config_for({"against": against, "method": method, "strength": strength})
    return {"against": against, "method": method, "strength": strength}


def config_for(options: dict, recognizer: object = "dlib") -> ProtectConfig:
    method = options["method"]
    if method not in METHODS:
        raise InvalidOptionError(
            f"method={method!r} is not known: choose from {', '.join(METHODS)}"
        )
    return ProtectConfig(
        against=options["against"],
        method=None if method == CLOAK else method,
        strength=options["strength"],
        recognizers=(recognizer,),
        verify=True,  # the page shows each recognizer's verdict, for blur too
    )


def option_choices() -> dict:
    """What ``GET /models`` lists for the page's menus."""
    return {
        "against": list(AGAINST),
        "methods": list(METHODS),
        "visible_methods": list(CLASSICAL_METHODS),
        "strengths": list(PRESETS),
        "default_strength": DEFAULT_STRENGTH,
    }


def photo_processor(pool: ModelPool, caps: Caps) -> Callable[[Photo, dict, Callable], None]:
    """``process(photo, options, report)`` for :class:`~facecloak.web.jobs.JobStore`."""

    def process(photo: Photo, options: dict, report: Callable[[float], None]) -> None:
        assert photo.upload is not None
        original = decode_photo(photo.upload, caps, photo.name)
        config = config_for(options, pool.recognizer("dlib"))
        result = protect(
            original, config, progress=lambda done, total: report(0.9 * done / max(total, 1))
        )
        report(0.9)
        photo.report = {
            "method": result.method,
            "faces_found": len(result.faces),
            "protect": result.to_dict(),
            **photo_report(original, result.image, result.faces, pool, config.detector),
        }
        photo.files = {
            "protected": encode_png(result.image),
            "difference": encode_png(amplified_difference(original, result.image)),
        }

    return process
