"""The stages of :func:`facecloak.protect.protect` that load models: the identity cloak
(:mod:`.identity`), the classifier cloak (:mod:`.classifier`), the evasion cloak
(:mod:`.evasion`) and the obfuscations that are checked with a recognizer (swap, replace, and
blur, pixelate or mask with ``verify``). :mod:`.pipeline` imports this module only when one of
them runs, so a plain blur never imports torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

import torch

from facecloak.faces import Face
from facecloak.faces.regions import face_region
from facecloak.models import find_again
from facecloak.models.recognizer import Recognizer
from facecloak.obfuscate import obfuscate_faces
from facecloak.obfuscate.donors import index_donors
from facecloak.obfuscate.replace import ReplaceSettings, replace_faces
from facecloak.obfuscate.swap import swap_faces
from facecloak.protect.classifier import cloak_against_classifier
from facecloak.protect.config import REPLACE_METHOD, SWAP_METHOD, ProtectConfig
from facecloak.protect.evasion import hide_faces
from facecloak.protect.identity import IdentityRequest, cloak_identities
from facecloak.protect.judging import JudgedViews, judge_everywhere, measure_identity
from facecloak.protect.outcomes import ProtectResult
from facecloak.protect.progress import Ticker
from facecloak.recognition import resolve_recognizers, shared_recognizer
from facecloak.replace.checkpoint import shared_generator


def run_stages(
    result: ProtectResult, chosen: list[int], config: ProtectConfig, ticker: Ticker
) -> None:
    """Run ``config``'s stages in order on ``result`` (seeded by ``config.seed``)."""
    torch.manual_seed(config.seed)
    result.settings = settings_report(config)
    for stage in config.stages:
        _STAGES[stage](result, chosen, config, ticker)


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
        seen_as=_found_again(result, chosen, config.detector) if replaced else {},
    )
    cloak = cloak_identities(result.image, result.faces, chosen, request, ticker)
    result.image, result.outcomes, result.latents = cloak.image, cloak.outcomes, cloak.latents
    _add_verdicts(result, config, [r.name for r in recognizers], cloak.views)


def _found_again(result: ProtectResult, chosen: list[int], detector: str) -> dict[int, Face]:
    """Each chosen face as the detector finds it on the changed photo, where it does."""
    found = find_again(result.image, [result.faces[i] for i in chosen], detector)
    return {i: face for i, face in zip(chosen, found, strict=True) if face is not None}


def _add_verdicts(
    result: ProtectResult,
    config: ProtectConfig,
    attacked: list[str],
    views: dict[int, JudgedViews],
) -> None:
    """Each judging recognizer's verdict on each face (see :func:`judge_everywhere`), on the
    views the stage's own report judged."""
    if not config.judges:
        return
    for outcome in result.outcomes:
        face = result.faces[outcome.index]
        outcome.verdicts = judge_everywhere(
            result.original, result.image, face, config.judges, attacked, views[outcome.index]
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
    judge = _recognizers(config.cloak_recognizers)[0]
    if config.method == SWAP_METHOD:
        donors = index_donors(config.donors, judge, config.detector)
        result.image, _ = swap_faces(result.image, faces, donors, judge)
    elif config.method == REPLACE_METHOD:
        loaded = shared_generator(config.replacer)
        settings = replace_settings(config)
        result.image = replace_faces(result.image, faces, loaded, settings, judge=judge)
    else:
        result.image = obfuscate_faces(result.image, faces, config.method)
    size = max(judge.chip_size)
    views = {i: JudgedViews.of(result.original, result.image, result.faces[i]) for i in chosen}
    result.outcomes = [
        measure_identity(
            result.original,
            result.image,
            i,
            face_region(result.faces[i], height, width, size),
            judge,
            views=views[i],
        )
        for i in chosen
    ]
    _add_verdicts(result, config, [], views)


_STAGES = {
    "identity": _identity_stage,
    "classifier": _classifier_stage,
    "evasion": _evasion_stage,
    "obfuscation": _obfuscation_stage,
}


def replace_settings(config: ProtectConfig) -> ReplaceSettings:
    """What ``config`` asks of ``method="replace"``: attributes, seed, shape and draws."""
    return ReplaceSettings(
        config.attributes, config.seed, shape_mix=config.shape_mix, candidates=config.candidates
    )


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


def settings_report(config: ProtectConfig) -> dict:
    """What ran, for reports: the cloak's settings, and the evasion's when it ran."""
    if config.method == SWAP_METHOD:
        return {"donors": str(config.donors)}
    if config.method == REPLACE_METHOD:
        replacer = "default" if config.replacer is None else str(config.replacer)
        out = {
            "attributes": config.attributes,
            "seed": config.seed,
            "shape_mix": config.shape_mix,
            "candidates": config.candidates,
            "replacer": replacer,
        }
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
