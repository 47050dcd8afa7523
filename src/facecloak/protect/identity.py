"""The identity cloak: each face changes so recognizers no longer match it to the person.

For each chosen face: a crop around it, every recognizer's embedding of that crop through its
own differentiable alignment, an objective (away from the clean embedding, toward a target, or
away in every recognizer at once, each in units of its threshold), the preset's attack, then the
largest share of the change that keeps the face box's SSIM at the preset's floor, written back.
Pixels outside each face's soft mask stay byte-identical.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from facecloak.attacks import (
    EmbeddingTargeted,
    EmbeddingUntargeted,
    EnsembleUntargeted,
    Objective,
    PerceptualResult,
    RandomJPEG,
    eot_transform,
    make_attack,
)
from facecloak.attacks.perceptual import (
    chip_spacing,
    coarse_shape,
    scale_to_ssim_floor,
)
from facecloak.attacks.visibility import texture_budget
from facecloak.errors import InvalidOptionError
from facecloak.faces import Face
from facecloak.faces.regions import FaceRegion, face_region
from facecloak.imaging import to_batch, to_uint8
from facecloak.models.fanout import Fanout
from facecloak.models.recognizer import Recognizer
from facecloak.protect.decoys import decoy_embeddings
from facecloak.protect.judging import JudgedViews, measure_identity
from facecloak.protect.outcomes import FaceOutcome
from facecloak.protect.presets import Strength
from facecloak.protect.progress import Ticker
from facecloak.quality import S2_CONTEXT

WARM_STEP_SHARE = 0.25
"""A warm-started face runs this share of its preset's steps (:attr:`IdentityRequest.starts`)."""


@dataclass(frozen=True)
class IdentityRequest:
    """What the identity stage needs besides the photo: the recognizers to beat (the first one
    sets the crop's chip grid), the preset, an optional target identity and robustness, and
    optional warm starts."""

    recognizers: Sequence[Recognizer]
    settings: Strength
    target: Tensor | None = None
    robust: bool = True
    away_from: np.ndarray | None = field(default=None, compare=False, repr=False)
    """The photo whose faces the cloak moves away from (default: the photo being cloaked); a
    cloak laid over a replaced face moves away from the original person."""
    starts: Mapping[int, Tensor] = field(default_factory=dict)
    """Face index -> the perturbation to start from (an earlier :class:`IdentityCloak`'s
    ``latents`` entry for the same face, e.g. on the previous video frame): resized to this
    face's grid, so a face that moved or changed size keeps its cloak. The perceptual attack
    only; the sign-gradient attacks start afresh."""
    seen_as: Mapping[int, Face] = field(default_factory=dict)
    """Face index -> the face as a reader of the photo being cloaked finds it, where that is not
    the original's (a replaced face: its eyes, nose and mouth moved): each recognizer's chip is
    cut where that face's keypoints put it, while the anchor to move away from keeps the
    original face's own. A cloak computed on the original's keypoints partly missed the chips
    an attacker cuts from the replaced face (``benchmarks/replacement.py``)."""
    warm_steps: int | None = None
    """Steps for a warm-started face (default: :data:`WARM_STEP_SHARE` of the preset's): it
    starts near a cloak that already worked, so it only needs to follow the face."""


@dataclass
class IdentityCloak:
    """The identity stage's output: the photo, a report per face, each face's final
    perturbation (by face index; perceptual attack only) for :attr:`IdentityRequest.starts`,
    and the views its reports judged."""

    image: np.ndarray
    outcomes: list[FaceOutcome]
    latents: dict[int, Tensor] = field(default_factory=dict)
    views: dict[int, JudgedViews] = field(default_factory=dict)
    """Face index -> the face as judged (for every recognizer's verdict on it)."""


class CropEmbedder(nn.Module):
    """Crop of a photo -> one recognizer's embedding of the face, through its alignment.

    With ``transform`` (post-release transforms on the aligned chip), every call draws anew:
    expectation over transformations happens by averaging several calls' gradients. With
    ``jitter``, every call with a gradient moves the alignment by a random similarity
    (:func:`jittered`): an attacker's aligner never cuts the chip exactly where ours does.
    """

    def __init__(
        self,
        recognizer: Recognizer,
        transforms: np.ndarray,
        offset: tuple[int, int],
        transform: Callable[[Tensor], Tensor] | None = None,
        jitter: float = 0.0,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.recognizer = recognizer
        self.transforms = transforms
        self.offset = offset
        self.transform = transform
        self.jitter = jitter
        self._draws = np.random.default_rng(seed)

    def forward(self, crop: Tensor) -> Tensor:
        transforms = self.transforms
        if self.jitter > 0 and torch.is_grad_enabled():
            height, width = self.recognizer.chip_size
            transforms = jittered(transforms, (width, height), self.jitter, self._draws)
        chips = self.recognizer.warp(crop, transforms, offset=self.offset)
        if self.transform is not None:
            chips = self.transform(chips)
        return self.recognizer(chips)


def jittered(
    transforms: np.ndarray, chip_size: tuple[int, int], amount: float, draws: np.random.Generator
) -> np.ndarray:
    """``transforms`` (chip pixel -> photo point) after a random similarity of the chip about
    its centre: scale ``1 +- amount``, rotation ``+- amount`` radians, shift ``+- amount`` of
    the chip's size, each uniform."""
    centre = np.array(chip_size, dtype=np.float64) / 2
    scale = 1 + draws.uniform(-amount, amount)
    angle = draws.uniform(-amount, amount)
    shift = draws.uniform(-amount, amount, size=2) * np.array(chip_size, dtype=np.float64)
    turn = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    linear = transforms[:, :, :2]
    moved = np.empty_like(transforms)
    moved[:, :, :2] = linear @ turn
    moved[:, :, 2] = linear @ (centre + shift - turn @ centre) + transforms[:, :, 2]
    return moved


def cloak_identities(
    image: np.ndarray,
    faces: list[Face],
    chosen: list[int],
    request: IdentityRequest,
    ticker: Ticker,
) -> IdentityCloak:
    """Cloak ``faces[i]`` for ``i`` in ``chosen``: the protected photo, one report per face."""
    photo = to_batch(image)
    chip_size = max(request.recognizers[0].chip_size)
    drafts = []
    latents = {}
    for index in chosen:
        started = time.perf_counter()
        region = face_region(faces[index], *image.shape[:2], size=chip_size)
        if request.settings.s2_floor is not None:  # the floor holds where reports judge it
            region = region.with_context(S2_CONTEXT, *image.shape[:2])
        crop = region.take(photo)
        start = request.starts.get(index)
        seen = request.seen_as.get(index)
        cloaked, steps, latent = _cloak_crop(image, crop, region, request, ticker, start, seen)
        if latent is not None:
            latents[index] = latent
        scale = scale_to_ssim_floor(
            crop,
            cloaked,
            [box_in_crop(region)],
            request.settings.ssim_floor,
            view=ssim_view(region, request.settings),
            s2_floor=request.settings.s2_floor,
        )
        x0, y0, x1, y1 = region.crop
        photo[..., y0:y1, x0:x1] = crop + scale * (cloaked - crop)
        drafts.append((index, region, steps, scale, time.perf_counter() - started))
    protected = to_uint8(photo)[0]
    judge = request.recognizers[0]
    original = image if request.away_from is None else request.away_from
    views = {index: JudgedViews.of(original, protected, faces[index]) for index in chosen}
    reports = [
        measure_identity(
            original, protected, index, region, judge, steps, scale, seconds, views[index]
        )
        for index, region, steps, scale, seconds in drafts
    ]
    return IdentityCloak(protected, reports, latents, views)


def _cloak_crop(
    image: np.ndarray,
    crop: Tensor,
    region: FaceRegion,
    request: IdentityRequest,
    ticker: Ticker,
    start: Tensor | None = None,
    seen: Face | None = None,
) -> tuple[Tensor, int, Tensor | None]:
    """The cloaked crop, the attack steps it took, and its perturbation (perceptual only);
    ``seen``: the face as found on ``image``, if not ``region``'s
    (:attr:`IdentityRequest.seen_as`)."""
    settings = request.settings
    transform = robustness_transform(settings.eot) if request.robust else None
    offset = (region.crop[0], region.crop[1])
    embedders = [
        CropEmbedder(
            r,
            r.chip_transforms(image, [seen or region.face]),
            offset,
            transform,
            jitter=settings.align_jitter,
            seed=index,
        )
        for index, r in enumerate(request.recognizers)
    ]
    reference, anchors = crop, embedders
    original = image if request.away_from is None else request.away_from
    if request.away_from is not None:
        reference = region.take(to_batch(original))
        anchors = [
            CropEmbedder(r, r.chip_transforms(original, [region.face]), offset)
            for r in request.recognizers
        ]
    spacing = chip_spacing(region.chip_to_crop)
    temperature = settings.temperature_for(spacing)
    objective = _objective(anchors, reference, request, (original, region.face), temperature)
    callback = ticker.step_callback()
    ensemble = isinstance(objective, EnsembleUntargeted)
    # Crop -> one embedding per recognizer (what EnsembleUntargeted reads), side by side. A
    # warm-started cloak runs a quarter of the steps: too few for each to count when drawn.
    per_step = settings.members_for(spacing) if start is None else None
    model = Fanout(embedders, per_step=per_step) if ensemble else embedders[0]
    if settings.attack == "perceptual":
        result = _perceptual(
            model, objective, crop, region, settings, callback, start, request.warm_steps
        )
        ticker.finish_face(settings.steps)
        return result.adversarial, int(result.steps[0]), result.latent
    options = {"steps": settings.steps, "step_size": settings.step_size, "callback": callback}
    if settings.attack in ("pgd", "ifgsm") or settings.eps:
        options["eps"] = settings.eps
    if settings.attack == "pfgvm":
        options["lam"] = settings.lam
    attack = make_attack(
        settings.attack,
        model,
        objective,
        mask=region.mask,
        early_stop=True,
        eot_samples=settings.eot_samples if request.robust else 1,
        **options,
    )
    result = attack.run(crop)
    ticker.finish_face(settings.steps)
    return result.adversarial, int(result.steps[0]), None


def _objective(
    embedders: Sequence[CropEmbedder],
    crop: Tensor,
    request: IdentityRequest,
    photo: tuple[np.ndarray, Face] | None = None,
    temperature: float | None = None,
) -> Objective:
    """Away from the clean embedding (Euclidean recognizers: the distance itself; others, or
    several at once: each distance over its threshold, capped, summed or their soft minimum
    at ``temperature``, and with the preset's ``pull`` toward a decoy of ``photo``'s face), or
    toward a target."""
    settings = request.settings
    with torch.no_grad():
        clean = [embed(crop) for embed in embedders]
    recognizer = embedders[0].recognizer
    if request.target is not None:
        if recognizer.metric != "euclidean":
            raise InvalidOptionError(
                f"a targeted cloak needs a Euclidean recognizer first, not {recognizer.name}"
            )
        target = request.target.mean(0, keepdim=True).to(crop.dtype)
        return EmbeddingTargeted(target, float(recognizer.threshold), settings.margin)
    if len(embedders) == 1 and recognizer.metric == "euclidean":
        return EmbeddingUntargeted(float(recognizer.threshold), settings.margin, anchor=clean[0])
    goal_ratio = 1.0 + settings.margin / float(recognizer.threshold)
    members = [e.recognizer for e in embedders]
    pulls = settings.pull > 0 and photo is not None
    decoys = decoy_embeddings(settings.decoy, members, clean, *photo) if pulls else None
    return EnsembleUntargeted(members, clean, goal_ratio, decoys, settings.pull, temperature)


def _perceptual(
    model: nn.Module,
    objective: Objective,
    crop: Tensor,
    region: FaceRegion,
    settings: Strength,
    callback: Callable,
    start: Tensor | None = None,
    warm_steps: int | None = None,
) -> PerceptualResult:
    """The perceptual attack (from ``start``, resized to this crop's grid, if given, for
    ``warm_steps``), with one more round of steps for a face that missed its goal (single
    recognizer), keeping the better of the two."""
    budget = region.mask
    if settings.texture_floor is not None:
        budget = texture_budget(crop, region.mask, floor=settings.texture_floor)
    attack = settings.perceptual_attack(model, objective, ssim_view=ssim_view(region, settings))
    grid = (
        coarse_shape(crop, region.chip_to_crop, settings.min_spacing) if settings.coarse else None
    )
    box = [box_in_crop(region)]
    attack.callback = callback
    if start is not None:
        start = _resized(start, grid or tuple(crop.shape[-2:]))
        attack.steps = warm_steps or max(1, round(settings.steps * WARM_STEP_SHARE))
    result = attack.run(crop, mask=budget, boxes=box, grid=grid, start=start)
    if isinstance(objective, EnsembleUntargeted) and len(objective.members) > 1:
        return result
    attack.callback = None
    steps_run = int(result.steps[0])
    for _ in range(settings.retries):
        if bool(result.success[0]):
            break
        more = attack.run(crop, mask=budget, boxes=box, grid=grid, start=result.latent)
        steps_run += int(more.steps[0])
        if bool(more.success[0]) or float(more.loss[0]) < float(result.loss[0]):
            result = more
    return PerceptualResult(
        adversarial=result.adversarial,
        steps=torch.tensor([steps_run]),
        loss=result.loss,
        success=result.success,
        ssim=result.ssim,
        latent=result.latent,
    )


def ssim_view(region: FaceRegion, settings: Strength) -> float:
    """How many times the SSIM floor's regions are shrunk: ``settings.ssim_shrink``, or to the
    recognizer chip's scale when the preset says ``ssim_at_view`` and that is coarser."""
    if settings.ssim_at_view:
        return max(settings.ssim_shrink, chip_spacing(region.chip_to_crop))
    return settings.ssim_shrink


def _resized(latent: Tensor, shape: tuple[int, int]) -> Tensor:
    """``latent`` on a grid of ``shape``: the crop follows the face, so a face that moved or
    grew between frames keeps its perturbation where it was on the face."""
    if tuple(latent.shape[-2:]) == tuple(shape):
        return latent
    return F.interpolate(latent, size=tuple(shape), mode="bilinear", align_corners=False)


def robustness_transform(kind: str) -> Callable[[Tensor], Tensor] | None:
    """Random post-release transforms on the chip: ``mixed`` (JPEG / resize / blur / shift, each
    half the time), ``jpeg`` (differentiable JPEG at quality 60-90 on every call) or ``none``
    (robustness from the margin alone: on the perceptual attack, EOT measured worse)."""
    if kind == "none":
        return None
    if kind == "jpeg":
        return RandomJPEG((60.0, 90.0))
    if kind == "mixed":
        return eot_transform(
            jpeg_quality=(60.0, 95.0), resize_scale=(0.5, 1.0), blur_sigma=(0.3, 0.8), max_shift=1.0
        )
    raise ValueError(f"unknown robustness transform {kind!r}; choose mixed, jpeg or none")


def box_in_crop(region: FaceRegion) -> tuple[int, int, int, int]:
    """The face box (where the SSIM floor holds) in the region's crop pixels."""
    x0, y0, x1, y1 = region.face_box
    return (x0 - region.crop[0], y0 - region.crop[1], x1 - region.crop[0], y1 - region.crop[1])
