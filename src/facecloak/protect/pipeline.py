"""``protect(image, config)``: detect -> select -> one stage per goal -> one report.

Each stage takes the photo as the previous stage left it and returns the new photo and its
per-face reports: the identity cloak (:mod:`.identity`), the classifier cloak
(:mod:`.classifier`), the evasion cloak (:mod:`.evasion`) or a visible obfuscation
(:mod:`facecloak.obfuscate`). ``against="both"`` is the identity stage, then the evasion stage.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from facecloak.errors import NoFaceError
from facecloak.faces import Face
from facecloak.faces.regions import face_region
from facecloak.images import as_rgb_array
from facecloak.models import detect
from facecloak.models.recognizer import Recognizer
from facecloak.obfuscate import obfuscate_faces
from facecloak.obfuscate.donors import index_donors
from facecloak.obfuscate.replace import ReplaceSettings, replace_faces
from facecloak.obfuscate.swap import swap_faces
from facecloak.protect.classifier import ClassifiedFace, cloak_against_classifier
from facecloak.protect.config import (
    COVERING_METHODS,
    REPLACE_METHOD,
    SWAP_METHOD,
    ProtectConfig,
)
from facecloak.protect.evasion import HiddenFace, hide_faces
from facecloak.protect.identity import IdentityRequest, cloak_identities
from facecloak.protect.outcomes import (
    FaceOutcome,
    judge_everywhere,
    measure_covered,
    measure_identity,
)
from facecloak.protect.progress import Progress, Ticker
from facecloak.recognition import resolve_recognizers, shared_recognizer
from facecloak.replace.checkpoint import LoadedGenerator, load_generator


@dataclass
class ProtectResult:
    """The protected photo and a report per face and stage."""

    image: np.ndarray
    original: np.ndarray
    faces: list[Face]
    method: str
    settings: dict = field(default_factory=dict)
    outcomes: list[FaceOutcome] = field(default_factory=list)
    """Per face cloaked against recognition (or obfuscated), as the first recognizer sees it."""
    hidden: list[HiddenFace] = field(default_factory=list)
    """Per face hidden from detectors."""
    classified: list[ClassifiedFace] = field(default_factory=list)
    """Per face cloaked against a classifier."""
    latents: dict[int, Tensor] = field(default_factory=dict, repr=False)
    """Each identity-cloaked face's final perturbation, by face index (perceptual attack): give
    it back as ``warm_starts`` to cloak the same face again (the next frame of a clip)."""
    seconds: float = 0.0

    def to_dict(self) -> dict:
        optional = {
            "faces_hidden": [h.to_dict() for h in self.hidden],
            "faces_classified": [c.to_dict() for c in self.classified],
        }
        return {
            "method": self.method,
            "settings": self.settings,
            "faces_found": len(self.faces),
            "faces_protected": [o.to_dict() for o in self.outcomes],
            **{key: value for key, value in optional.items() if value},
            "seconds": round(self.seconds, 3),
        }


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
    torch.manual_seed(config.seed)
    result = ProtectResult(original, original, faces, _method_name(config), _settings(config))
    ticker = Ticker(progress, _total_steps(config, len(chosen)))
    result.latents = dict(warm_starts or {})  # the identity stage reads and replaces them
    for stage in config.stages:
        _STAGES[stage](result, chosen, config, ticker)
    result.seconds = time.perf_counter() - started
    return result


def _identity_stage(
    result: ProtectResult, chosen: list[int], config: ProtectConfig, ticker: Ticker
) -> None:
    recognizers = _recognizers(config.cloak_recognizers)
    replaced = "obfuscation" in config.stages
    request = IdentityRequest(
        recognizers,
        config.settings,
        config.target,
        config.robust,
        away_from=result.original if replaced else None,
        starts=result.latents,
    )
    cloak = cloak_identities(result.image, result.faces, chosen, request, ticker)
    result.image, result.outcomes, result.latents = cloak.image, cloak.outcomes, cloak.latents
    _add_verdicts(result, config, attacked=[r.name for r in recognizers])


def _add_verdicts(result: ProtectResult, config: ProtectConfig, attacked: list[str]) -> None:
    """Each judging recognizer's verdict on each face (see :func:`judge_everywhere`)."""
    if not config.judges:
        return
    for outcome in result.outcomes:
        face = result.faces[outcome.index]
        outcome.verdicts = judge_everywhere(
            result.original, result.image, face, config.judges, attacked
        )


def _classifier_stage(
    result: ProtectResult, chosen: list[int], config: ProtectConfig, ticker: Ticker
) -> None:
    result.image, result.classified = cloak_against_classifier(
        result.image,
        result.faces,
        chosen,
        config.classifier,
        config.settings,
        config.target_class,
        ticker.stage_progress(),
    )
    ticker.finish_face(config.settings.steps * len(chosen))


def _evasion_stage(
    result: ProtectResult, chosen: list[int], config: ProtectConfig, ticker: Ticker
) -> None:
    settings = config.evasion_settings
    result.image, result.hidden = hide_faces(
        result.image,
        result.faces,
        chosen,
        settings,
        config.evasion_detectors,
        ticker.stage_progress(),
    )


def _obfuscation_stage(
    result: ProtectResult, chosen: list[int], config: ProtectConfig, ticker: Ticker
) -> None:
    faces = [result.faces[i] for i in chosen]
    height, width = result.image.shape[:2]
    if config.method in COVERING_METHODS and not config.verifies:  # no recognizer loaded
        result.image = obfuscate_faces(result.image, faces, config.method)
        result.outcomes = [
            measure_covered(
                result.original, result.image, i, face_region(result.faces[i], height, width)
            )
            for i in chosen
        ]
        return
    judge = _recognizers(config.cloak_recognizers)[0]
    if config.method == SWAP_METHOD:
        donors = index_donors(config.donors, judge, config.detector)
        result.image, _ = swap_faces(result.image, faces, donors, judge)
    elif config.method == REPLACE_METHOD:
        settings = ReplaceSettings(config.attributes, config.seed)
        result.image = replace_faces(result.image, faces, _replacer(config.replacer), settings)
    else:
        result.image = obfuscate_faces(result.image, faces, config.method)
    size = max(judge.chip_size)
    result.outcomes = [
        measure_identity(
            result.original,
            result.image,
            i,
            face_region(result.faces[i], height, width, size),
            judge,
        )
        for i in chosen
    ]
    _add_verdicts(result, config, attacked=[])


_STAGES = {
    "identity": _identity_stage,
    "classifier": _classifier_stage,
    "evasion": _evasion_stage,
    "obfuscation": _obfuscation_stage,
}


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


def _recognizers(given: Sequence[str | Recognizer]) -> list[Recognizer]:
    """Loaded recognizers (each loaded once per process) for names, ``all`` or modules."""
    names = resolve_recognizers([r for r in given if isinstance(r, str)])
    loaded = {name: shared_recognizer(name) for name in names}
    out: list[Recognizer] = []
    for item in given:
        if not isinstance(item, str):
            out.append(item)
        elif item == "all":
            out.extend(loaded[n] for n in names if loaded[n] not in out)
        elif loaded[item] not in out:
            out.append(loaded[item])
    return out


@lru_cache(maxsize=2)
def _replacer(path: str | Path | None) -> LoadedGenerator:
    """The replacement generator at ``path`` (default: the committed one), loaded once."""
    return load_generator(None if path is None else Path(path))


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


def _settings(config: ProtectConfig) -> dict:
    """What ran, for reports: the cloak's settings, and the evasion's when it ran."""
    if config.method == SWAP_METHOD:
        return {"donors": str(config.donors)}
    if config.method == REPLACE_METHOD:
        replacer = "default" if config.replacer is None else str(config.replacer)
        out = {"attributes": config.attributes, "seed": config.seed, "replacer": replacer}
        return {**out, "then": config.then} if config.then else out
    if config.stages == ("obfuscation",):
        return {}
    settings = config.settings
    out: dict = {}
    if config.stages[0] in ("identity", "classifier"):
        out = {
            "strength": settings.name,
            "attack": settings.attack,
            "eps": settings.eps,
            "steps": settings.steps,
            "step_size": settings.step_size,
            "ssim_floor": settings.ssim_floor,
            "margin": settings.margin,
            "robust": config.robust,
            "targeted": config.target is not None or config.target_class is not None,
            "recognizers": [r.name for r in _recognizers(config.cloak_recognizers)],
            **({"lam": settings.lam} if settings.attack == "pfgvm" else {}),
        }
    if "evasion" in config.stages:
        evasion = {**asdict(config.evasion_settings), "detectors": list(config.evasion_detectors)}
        out = evasion if not out else {**out, "evasion": evasion}
    return out
