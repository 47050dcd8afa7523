"""The perceptual attack: Adam inside the L-inf ball with the face's SSIM as a constraint.

Sign-gradient attacks move every pixel of the mask by the full budget, which SSIM punishes most
in smooth skin. This attack instead

- keeps a differentiable SSIM of one or more regions (the same measure as
  :func:`facecloak.quality.image_change`) inside the loss, as a hinge on ``ssim_target`` whose
  weight grows by dual ascent while the target is missed (a Lagrangian);
- gives each pixel its own share of ``eps`` (the ``mask``: a soft face mask, or a texture
  budget from :func:`texture_budget`);
- can let the perturbation live on a grid coarser than the input (``grid``, :func:`coarse_shape`):
  on a large photo a recognizer only sees a downsampled face, so the attack needs ~150x150
  unknowns instead of millions, and the perturbation stays smooth;
- takes Adam steps and keeps the best iterate that meets the SSIM target.

Like every attack it lowers an :class:`~facecloak.attacks.objectives.Objective`'s loss and stops
when the objective reports success. The objective's :attr:`~Objective.goal` (the loss at which it
succeeds) caps the loss, so once the goal is reached only the SSIM term still pulls. One input
(``N = 1``) per run: the perturbation and its SSIM are per photo crop.

Example:
    >>> import torch
    >>> from facecloak.attacks import EmbeddingUntargeted
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 16 * 16, 8))
    >>> crop = torch.rand(1, 3, 16, 16)
    >>> anchor = model(crop).detach()
    >>> attack = Perceptual(model, EmbeddingUntargeted(0.05, anchor=anchor), steps=30)
    >>> result = attack.run(crop, boxes=[(0, 0, 16, 16)])
    >>> bool(result.success[0]), result.ssim >= attack.ssim_target
    (True, True)
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from facecloak.attacks.base import Attack
from facecloak.attacks.common import AttackResult, StepInfo
from facecloak.attacks.objectives import Objective
from facecloak.attacks.visibility import ScoreHinge, changing_box, chip_spacing, viewed
from facecloak.geometry import widened
from facecloak.imaging import quantise, to_uint8
from facecloak.quality import S2_CONTEXT, S2_PHASES, ssimulacra2_at_least
from facecloak.ssim import differentiable_ssim

logger = logging.getLogger(__name__)

Box = tuple[int, int, int, int]
SSIM_SAMPLED_SIDE = 150
"""Regions larger than this (short side, pixels) get SSIM estimated on strided windows."""
SSIM_MAX_STRIDE = 8  # below the window size: every pixel still gets a gradient
SSIM_SKIP_GAP = 0.02
"""SSIM this far above the target is measured every other step only (``_Loop.ssims``)."""


@dataclass(frozen=True)
class PerceptualResult(AttackResult):
    """An :class:`AttackResult` plus the lowest region SSIM the attack saw at its result and the
    latent perturbation (to continue from, with ``start=``)."""

    ssim: float = 1.0
    latent: Tensor | None = None


class Perceptual(Attack):
    """Adam on a (possibly coarse) perturbation, SSIM-hinged, best feasible iterate kept.

    Hyperparameters (class defaults, overridable by keyword): ``ssim_target`` (the SSIM the
    hinge aims for; a little above a floor, since rounding to 8 bits costs some),
    ``ssim_weight`` (the hinge's initial weight) and ``ssim_weight_growth`` (dual-ascent rate:
    the weight grows by ``growth * deficit / 0.001`` times itself per step while below target).
    ``step_size`` is Adam's learning rate on [0, 1] pixels. ``chroma_share`` below 1 makes the
    perturbation live in an opponent colour space (luma, blue-yellow, red-green) where each
    chroma channel may use only that share of ``eps``: people see low-frequency colour blotches
    long before the same change in brightness (0: brightness only). ``ssim_view`` above 1
    measures the SSIM hinge on the regions shrunk that many times (:func:`viewed`): on a large
    face a smooth change costs almost no full-size SSIM, yet shows plainly. ``s2_target``
    adds a second hinge, on each region's SSIMULACRA2 (:mod:`facecloak.ssimulacra`), which sees
    the blotches and flat-region noise SSIM misses; ``s2_fine_every`` > 1 computes its finest
    scales, where a coarse cloak costs little of the score, on every that-many-th step only
    (:class:`~facecloak.attacks.visibility.ScoreHinge`).
    """

    name = "perceptual"
    needs_eps = True
    batched = False
    hyperparameters = (
        "ssim_target",
        "ssim_weight",
        "ssim_weight_growth",
        "chroma_share",
        "ssim_view",
        "s2_target",
        "s2_fine_every",
    )
    eps = 12 / 255
    steps = 35
    step_size = 1.5 / 255
    ssim_target = 0.982
    ssim_weight = 20.0
    ssim_weight_growth = 0.5
    chroma_share = 1.0
    ssim_view = 1.0
    s2_target: float | None = None
    s2_fine_every = 1

    def descent_step(self, grad: Tensor, x_adv: Tensor, x: Tensor) -> Tensor:
        raise NotImplementedError("the perceptual attack runs its own loop (see run)")

    def run(  # type: ignore[override]
        self,
        x: Tensor,
        *,
        objective: Objective | None = None,
        mask: Tensor | None = None,
        boxes: Sequence[Box] = (),
        grid: tuple[int, int] | None = None,
        start: Tensor | None = None,
        min_steps: int = 0,
    ) -> PerceptualResult:
        """Attack ``x`` (``(1, 3, h, w)`` in [0, 1]).

        Args:
            objective, mask: override the ones given at construction; ``mask`` is the
                per-pixel share of ``eps`` (0 where nothing may change).
            boxes: ``(x0, y0, x1, y1)`` regions whose SSIM must stay at ``ssim_target``
                (default: the whole input).
            grid: the size of the grid the perturbation lives on (default: the input's).
            start: a latent to continue from (a previous result's ``latent``, same grid).
            min_steps: with a random model (transforms), keep going this long past a lucky
                draw that meets the goal once.
        """
        objective = self._resolve_objective(objective)
        crop = self._validated_input(x)
        if crop.shape[0] != 1:
            raise ValueError(
                f"the perceptual attack takes one input at a time, got {crop.shape[0]}"
            )
        budget = self._prepared_mask(self.mask if mask is None else mask, crop)
        boxes = list(boxes) or [(0, 0, crop.shape[-1], crop.shape[-2])]
        clean_output = self._clean_output(crop, objective)
        latent = self._start(crop, grid, start)
        _clamp_latent(latent, float(self.eps), self.chroma_share)
        latent.requires_grad_(True)
        loop = _Loop(self, objective, crop, budget, boxes, clean_output)
        best = loop.optimise(latent, min_steps)
        result = PerceptualResult(
            adversarial=best.cloaked,
            steps=torch.tensor([loop.steps_run]),
            loss=torch.tensor([-best.score], dtype=crop.dtype),
            success=torch.tensor([best.score >= loop.goal]),
            ssim=best.ssim,
            latent=best.latent,
        )
        self.last_result = result
        return result

    def _start(self, crop: Tensor, grid: tuple[int, int] | None, start: Tensor | None) -> Tensor:
        if start is not None:
            return start.detach().clone()
        shape = grid if grid is not None else tuple(crop.shape[-2:])
        # A tiny random start: a distance has no gradient at the clean input itself.
        noise = torch.rand((1, 3, *shape), dtype=crop.dtype, generator=self.generator)
        return (noise * 2 - 1) * min(self.eps, 1 / 255)


@dataclass(frozen=True)
class _Iterate:
    score: float
    cloaked: Tensor
    ssim: float
    latent: Tensor


class _Loop:
    """One run of the perceptual attack's optimisation."""

    def __init__(
        self,
        attack: Perceptual,
        objective: Objective,
        crop: Tensor,
        budget: Tensor,
        boxes: list[Box],
        clean_output: Any,
    ) -> None:
        self.attack, self.objective, self.clean_output = attack, objective, clean_output
        self.crop, self.budget, self.boxes = crop, budget, boxes
        goal = objective.goal
        self.goal = math.inf if goal is None else -goal
        self.view = attack.ssim_view
        self.samplers = [_SSIMSampler(viewed(_cut(crop, box), self.view)) for box in boxes]
        self.s2_boxes = s2_regions(crop, boxes)
        spread = budget.expand(*budget.shape[:-2], *crop.shape[-2:])  # a (1, 1, 1, 1) budget too
        self.s2_hinge = (
            None
            if attack.s2_target is None
            else ScoreHinge(
                [_cut(crop, box) for box in self.s2_boxes],
                attack.s2_target,
                phases=S2_PHASES,
                within=[changing_box(_cut(spread, box)) for box in self.s2_boxes],
                fine_every=attack.s2_fine_every,
            )
        )
        self.steps_run = 0
        self.last_ssims: Tensor | None = None

    def score(self, cloaked: Tensor) -> Tensor:
        """Minus the objective's loss (higher is better), over the one input."""
        model_input = cloaked if self.attack.transform is None else self.attack.transform(cloaked)
        evaluation = self.objective(self.attack.model(model_input), self.clean_output, None)
        return -evaluation.loss.mean()

    def ssims(self, cloaked: Tensor) -> Tensor:
        """Each box's SSIM. After a step that measured them more than :data:`SSIM_SKIP_GAP`
        above the target, the next step reuses them (detached). One step lowered SSIM by at
        most 0.016 on LFW's faces (BENCHMARKS.md ``transfer-deepface62-members1``), so the
        reused values meet the target when the true ones do, and above the target the hinge
        has no gradient: the same cloak, with half the SSIM passes on a large face, where SSIM
        sits far above its floor."""
        last = self.last_ssims
        if last is not None and float(last.min()) > self.attack.ssim_target + SSIM_SKIP_GAP:
            self.last_ssims = None  # measure on the next step
            return last
        ssims = torch.stack(
            [
                sample(viewed(_cut(cloaked, b), self.view))
                for sample, b in zip(self.samplers, self.boxes, strict=True)
            ]
        )
        self.last_ssims = ssims.detach()
        return ssims

    def optimise(self, latent: Tensor, min_steps: int) -> _Iterate:
        attack = self.attack
        optimiser = _Adam(latent, attack.step_size)
        weight = attack.ssim_weight
        best: _Iterate | None = None
        value = ssim = 0.0
        for step in range(1, attack.steps + 1):
            cloaked = _apply(self.crop, latent, self.budget, self.attack.chroma_share)
            score = self.score(cloaked)
            ssims = self.ssims(cloaked)
            value, ssim = float(score.detach()), float(ssims.detach().min())
            feasible = ssim >= attack.ssim_target
            s2_penalty = 0.0
            if self.s2_hinge is not None:
                s2_penalty, s2_met = self.s2_hinge([_cut(cloaked, b) for b in self.s2_boxes])
                feasible = feasible and s2_met
            if feasible and (best is None or value > best.score):
                best = _Iterate(value, cloaked.detach(), ssim, latent.detach().clone())
            if value >= self.goal and feasible and step > min_steps:
                break
            deficit = attack.ssim_target - ssim
            weight *= 1.0 + attack.ssim_weight_growth * max(deficit, -0.5e-3) / 1e-3
            weight = min(max(weight, 1.0), 1e5)
            loss = -score.clamp(max=self.goal)
            if ssim < attack.ssim_target:  # else the term and its gradient are zero: no backward
                loss = loss + weight * F.relu(attack.ssim_target - ssims).sum()
            loss = loss + s2_penalty
            (grad,) = torch.autograd.grad(loss, latent)
            optimiser.step(grad)
            with torch.no_grad():
                _clamp_latent(latent, attack.eps, attack.chroma_share)
            self.steps_run = step
            if attack.callback is not None:
                attack.callback(_step_info(step, attack.steps, value, self.goal))
        if best is None:  # never met the SSIM target: the last iterate (the caller scales)
            cloaked = _apply(self.crop, latent, self.budget, self.attack.chroma_share).detach()
            best = _Iterate(value, cloaked, ssim, latent.detach())
        logger.debug(
            "perceptual: %d steps, score %.3f, SSIM %.4f", self.steps_run, best.score, best.ssim
        )
        return best


def _step_info(step: int, total: int, score: float, goal: float) -> StepInfo:
    loss = torch.tensor([-score])
    success = torch.tensor([score >= goal])
    return StepInfo(step, total, loss, success, ~success)


def coarse_shape(crop: Tensor, chip_to_crop: Any, min_spacing: float = 1.0) -> tuple[int, int]:
    """The crop's size on the chip's pixel grid, or coarser when ``min_spacing`` (crop pixels
    per grid cell) says so; never larger than the crop.

    A grid coarser than the photo's pixels keeps the cloak smooth, which JPEG re-encoding
    (that drops high frequencies first) leaves more of.
    """
    spacing = max(1.0, min_spacing, chip_spacing(chip_to_crop))
    height, width = crop.shape[-2:]
    return max(2, math.ceil(height / spacing - 1e-6)), max(2, math.ceil(width / spacing - 1e-6))


def scale_to_ssim_floor(
    crop: Tensor,
    cloaked: Tensor,
    boxes: Sequence[Box],
    floor: float,
    rounds: int = 8,
    view: float = 1.0,
    s2_floor: float | None = None,
) -> float:
    """The largest share of the perturbation (bisection) that keeps every box's SSIM >=
    ``floor``, as measured on the 8-bit result (the same SSIM as
    :func:`facecloak.quality.ssim`), on the boxes shrunk ``view`` times (:func:`viewed`), and,
    with ``s2_floor``, their SSIMULACRA2 at least that as the reports judge it
    (:func:`facecloak.quality.ssimulacra2_at_least` on the window of :func:`s2_regions`)."""
    original = quantise(crop)
    change = cloaked.detach() - crop.detach()
    windows = s2_regions(crop, boxes) if s2_floor is not None else []
    judged = [to_uint8(_cut(original, box))[0] for box in windows]

    def acceptable(scale: float) -> bool:
        candidate = quantise(crop.detach() + scale * change)
        for b in boxes:
            before, after = _cut(original, b), _cut(candidate, b)
            if float(differentiable_ssim(viewed(before, view), viewed(after, view))) < floor:
                return False
        return all(
            ssimulacra2_at_least(before, to_uint8(_cut(candidate, box))[0], s2_floor)
            for before, box in zip(judged, windows, strict=True)
        )

    if acceptable(1.0):
        return 1.0
    low, high = 0.0, 1.0
    for _ in range(rounds):
        middle = (low + high) / 2
        low, high = (middle, high) if acceptable(middle) else (low, middle)
    logger.info("perturbation scaled to %.2f to keep SSIM >= %.3f (S2 >= %s)", low, floor, s2_floor)
    return low


class _Adam:
    """Adam on one tensor, in place (torch.optim's first use costs seconds of imports)."""

    def __init__(self, param: Tensor, lr: float, betas: tuple[float, float] = (0.9, 0.999)) -> None:
        self.param, self.lr, self.betas = param, lr, betas
        self.first = torch.zeros_like(param)
        self.second = torch.zeros_like(param)
        self.count = 0

    @torch.no_grad()
    def step(self, grad: Tensor) -> None:
        beta1, beta2 = self.betas
        self.count += 1
        self.first.mul_(beta1).add_(grad, alpha=1 - beta1)
        self.second.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        first = self.first / (1 - beta1**self.count)
        second = self.second / (1 - beta2**self.count)
        self.param.sub_(self.lr * first / (second.sqrt() + 1e-8))


class _SSIMSampler:
    """SSIM of a region against the clean one: exact on small regions; on large ones estimated
    from every ``stride``-th window, from a random offset per call."""

    def __init__(self, clean: Tensor) -> None:
        self.clean = clean
        side = min(clean.shape[-2:])
        self.stride = min(SSIM_MAX_STRIDE, max(1, math.ceil(side / SSIM_SAMPLED_SIDE)))

    def __call__(self, cloaked: Tensor) -> Tensor:
        offset = tuple(int(v) for v in torch.randint(self.stride, (2,)))
        return differentiable_ssim(cloaked, self.clean, stride=self.stride, offset=offset)


def s2_regions(crop: Tensor, boxes: Sequence[Box]) -> list[Box]:
    """Where SSIMULACRA2 is held for each box: the box widened to
    :data:`~facecloak.quality.S2_CONTEXT` pixels a side inside the crop, as the reports judge it
    (on a small box alone the metric misses what people see)."""
    height, width = crop.shape[-2:]
    return [widened(box, S2_CONTEXT, height, width) for box in boxes]


def _cut(image: Tensor, box: Box) -> Tensor:
    x0, y0, x1, y1 = box
    return image[..., y0:y1, x0:x1]


OPPONENT_TO_RGB = torch.tensor([[1.0, 0.0, 1.402], [1.0, -0.344136, -0.714136], [1.0, 1.772, 0.0]])
"""YCbCr (BT.601) differences to RGB differences: a latent in (luma, Cb, Cr)."""


def _clamp_latent(latent: Tensor, eps: float, chroma_share: float) -> None:
    """In place: luma (or RGB) within ``eps``, chroma within ``chroma_share * eps``."""
    if chroma_share >= 1.0:
        latent.clamp_(-eps, eps)
        return
    latent[:, :1].clamp_(-eps, eps)
    latent[:, 1:].clamp_(-eps * chroma_share, eps * chroma_share)


def _apply(crop: Tensor, latent: Tensor, budget: Tensor, chroma_share: float = 1.0) -> Tensor:
    """The crop plus the latent perturbation (RGB, or luma/chroma when ``chroma_share < 1``),
    brought to the crop's grid, scaled by the budget."""
    change = latent
    if chroma_share < 1.0:
        matrix = OPPONENT_TO_RGB.to(latent.dtype)
        change = torch.einsum("rc,nchw->nrhw", matrix, latent)
    if change.shape[-2:] != crop.shape[-2:]:
        change = F.interpolate(change, size=crop.shape[-2:], mode="bilinear", align_corners=False)
    return (crop + budget * change).clamp(0.0, 1.0)
