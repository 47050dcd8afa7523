"""``protect(image, config)``: detect -> select -> one stage per goal -> one report.

Each stage takes the photo as the previous stage left it and returns the new photo and its
per-face reports: the identity cloak (:mod:`.identity`), the classifier cloak
(:mod:`.classifier`), the evasion cloak (:mod:`.evasion`) or a visible obfuscation
(:mod:`facecloak.obfuscate`). ``against="both"`` is the identity stage, then the evasion stage.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from facecloak.errors import NoFaceError
from facecloak.faces import Face
from facecloak.images import as_rgb_array
from facecloak.models import detect
from facecloak.obfuscate import obfuscate_faces
from facecloak.protect.config import COVERING_METHODS, ProtectConfig
from facecloak.protect.outcomes import ProtectResult, measure_covered
from facecloak.protect.progress import Progress, Ticker

if TYPE_CHECKING:
    from torch import Tensor

__all__ = ["ProtectResult", "covers_only", "protect", "select_faces"]


def protect(
    image: object,
    config: ProtectConfig | None = None,
    *,
    detected: list[Face] | None = None,
    progress: Progress | None = None,
    warm_starts: Mapping[int, Tensor] | None = None,
) -> ProtectResult:
    """Protect the faces of a photo as ``config`` says (default: the identity cloak, ``mid``).

    Args:
        image: a path, a Pillow image, or an ``(H, W, 3)``, ``(H, W)`` or ``(H, W, 4)`` array,
            uint8 or float in [0, 1] (what :func:`detect` takes).
        config: see :class:`ProtectConfig`.
        detected: faces already detected on ``image`` (skips detection).
        progress: called as ``progress(done_steps, total_steps)``.
        warm_starts: face index -> a perturbation to start that face's identity cloak from
            (an earlier result's :attr:`ProtectResult.latents`; fewer steps when it still works).

    Raises:
        NoFaceError: no face was found (or none of the requested indices exist).

    Example:
        >>> from facecloak.data import grace_hopper
        >>> result = protect(grace_hopper(), ProtectConfig(strength="low"))  # doctest: +SKIP
        >>> result.outcomes[0].protected  # doctest: +SKIP
        True
    """
    started = time.perf_counter()
    config = config or ProtectConfig()
    original = as_rgb_array(image)
    faces = detected if detected is not None else detect(original, detector=config.detector)
    chosen = select_faces(faces, config.faces, config.largest)
    result = ProtectResult(original, original, faces, _method_name(config))
    if covers_only(config):
        _cover(result, chosen, config.method)
    else:
        from facecloak.protect.stages import run_stages  # torch and the models: only here

        result.latents = dict(warm_starts or {})  # the identity stage reads and replaces them
        run_stages(result, chosen, config, Ticker(progress, _total_steps(config, len(chosen))))
    result.seconds = time.perf_counter() - started
    return result


def covers_only(config: ProtectConfig) -> bool:
    """A blur, pixelate or mask left unchecked: no model but the detector, no torch."""
    return config.method in COVERING_METHODS and not config.verifies


def _cover(result: ProtectResult, chosen: list[int], method: str) -> None:
    faces = [result.faces[i] for i in chosen]
    result.image = obfuscate_faces(result.image, faces, method)
    result.outcomes = [
        measure_covered(result.original, result.image, i, result.faces[i]) for i in chosen
    ]


def select_faces(faces: list[Face], indices: Sequence[int] | None, largest: bool) -> list[int]:
    """Indices of the faces to protect; raises :class:`NoFaceError` when there are none."""
    if not faces:
        raise NoFaceError("no face found")
    if largest:
        return [max(range(len(faces)), key=lambda i: faces[i].area)]
    if indices is None:
        return list(range(len(faces)))
    missing = [i for i in indices if not 0 <= i < len(faces)]
    if missing:
        raise NoFaceError(f"no face number {missing} (found {len(faces)}: 0..{len(faces) - 1})")
    return sorted(set(indices))


def _method_name(config: ProtectConfig) -> str:
    if config.stages == ("evasion",):
        return "evasion"
    return config.method or config.settings.attack


def _total_steps(config: ProtectConfig, faces: int) -> int:
    """Attack steps over every stage, for the progress callback."""
    evasion = config.evasion_settings
    steps = {
        "identity": config.settings.steps * faces,
        "classifier": config.settings.steps * faces,
        "evasion": evasion.steps * evasion.rounds,
        "obfuscation": 0,
    }
    return sum(steps[stage] for stage in config.stages)
