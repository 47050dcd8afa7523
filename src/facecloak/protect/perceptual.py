"""SSIM-aware cloak optimisation: spend the change where the face's texture hides it.

Plain PGD moves every pixel of the mask by the full budget (sign steps), which SSIM punishes
most in smooth skin. This optimiser instead

- keeps a differentiable SSIM of the face region (the same measure as
  :func:`facecloak.quality.image_change`) inside the loss, as a hinge on the floor whose
  weight grows by dual ascent while the floor is violated (a Lagrangian),
- can give each pixel its own budget (:func:`texture_budget`: the mask times the local texture;
  measured no better than the mask alone once SSIM is in the loss),
- can let the cloak live on a grid as coarse as the recognizer's chip (``grid``,
  :func:`coarse_shape`): on large photos the recognizer only sees a downsampled face anyway, so
  the optimiser has ~150x150 unknowns instead of millions,
- takes Adam steps in that box and keeps the best iterate that meets the floor.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import Tensor

from facecloak.imaging import quantise
from facecloak.quality import differentiable_ssim

logger = logging.getLogger(__name__)

SSIM_SAMPLED_SIDE = 150
"""Face regions larger than this (short side, pixels) get SSIM estimated on strided windows."""
SSIM_MAX_STRIDE = 8  # below the window size: every pixel still gets a gradient


@dataclass(frozen=True)
class PerceptualOptions:
    """Knobs of :func:`perceptual_cloak`.

    Attributes:
        eps: L-inf budget on [0, 1] pixels where the per-pixel budget is 1.
        steps: maximum optimiser steps.
        step_size: Adam learning rate on [0, 1] pixels.
        ssim_target: the SSIM the hinge aims for (a little above the floor: rounding to 8 bits
            costs some).
        ssim_weight: initial weight of the SSIM hinge.
        ssim_weight_growth: dual-ascent rate: the weight grows by ``growth * deficit / 0.001``
            times itself per step while SSIM is below target.
        goal: embedding distance at which the face counts as protected: at least this far from
            the reference (threshold + margin), or with ``toward`` at most this far.
        toward: pull toward the reference (a target identity) instead of pushing away.
    """

    eps: float
    steps: int
    step_size: float
    ssim_target: float
    goal: float
    ssim_weight: float = 20.0
    ssim_weight_growth: float = 0.5
    toward: bool = False


@dataclass(frozen=True)
class PerceptualResult:
    """The cloaked crop, the steps run, the distance / SSIM the optimiser saw there, and the
    latent cloak (to continue from)."""

    cloaked: Tensor
    steps: int
    distance: float
    ssim: float
    latent: Tensor


def texture_budget(crop: Tensor, mask: Tensor, floor: float = 0.2, window: int = 7) -> Tensor:
    """Per-pixel budget: ``mask * clamp(local_std / median_std, floor, 1)``.

    Local standard deviation of the grey image over a ``window`` box; the median is taken inside
    the mask, so a face's own texture sets the scale.
    """
    grey = crop.mean(1, keepdim=True)
    pad = window // 2
    padded = F.pad(grey, (pad, pad, pad, pad), mode="reflect")
    mean = F.avg_pool2d(padded, window, stride=1)
    mean_sq = F.avg_pool2d(padded * padded, window, stride=1)
    local_std = (mean_sq - mean * mean).clamp_min(0).sqrt()
    inside = local_std[mask > 0.5]
    scale = float(inside.median()) if inside.numel() else float(local_std.median())
    weight = (local_std / max(scale, 1e-6)).clamp(floor, 1.0)
    return mask * weight


def coarse_shape(
    crop: Tensor, chip_to_crop: Tensor | object, min_spacing: float = 1.0
) -> tuple[int, int]:
    """The crop's size on the chip's pixel grid, or coarser when ``min_spacing`` (crop pixels
    per grid cell) says so; never larger than the crop.

    A grid coarser than the photo's pixels keeps the cloak smooth, which JPEG re-encoding
    (that drops high frequencies first) leaves more of.
    """
    import numpy as np

    linear = np.asarray(chip_to_crop, dtype=np.float64).reshape(2, 3)[:, :2]
    chip_spacing = float(np.sqrt(abs(np.linalg.det(linear))))
    spacing = max(1.0, min_spacing, chip_spacing)
    height, width = crop.shape[-2:]
    return max(2, math.ceil(height / spacing - 1e-6)), max(2, math.ceil(width / spacing - 1e-6))


Box = tuple[int, int, int, int]
Score = Callable[[Tensor], Tensor]
"""cloaked crop -> a differentiable scalar to raise; the optimiser stops at its goal."""


def perceptual_cloak(
    crop: Tensor,
    embed: Callable[[Tensor], Tensor],
    reference: Tensor,
    budget: Tensor,
    box: tuple[int, int, int, int],
    options: PerceptualOptions,
    *,
    grid: tuple[int, int] | None = None,
    start: Tensor | None = None,
    callback: Callable[[int], None] | None = None,
) -> PerceptualResult:
    """Lower SSIM-hinged ``-distance`` (``+distance`` toward a target) over a cloak bounded by
    ``eps * budget``.

    Args:
        crop: ``(1, 3, h, w)`` the clean crop in [0, 1].
        embed: crop -> ``(1, D)`` embedding (differentiable; may be random, e.g. EOT).
        reference: ``(1, D)`` the clean face's embedding (or, with ``options.toward``, the
            target identity's).
        budget: ``(1, 1, h, w)`` per-pixel share of ``eps`` (0 outside the mask).
        box: ``(x0, y0, x1, y1)`` of the face region in crop pixels, where SSIM is measured.
        options: see :class:`PerceptualOptions`.
        grid: size of the grid the cloak lives on (``None``: the crop's own pixels).
        start: a latent to continue from (a previous result's ``latent``, same grid).
        callback: called with the step number after every step.
    """
    sign = -1.0 if options.toward else 1.0

    def score(cloaked: Tensor) -> Tensor:
        return sign * torch.linalg.vector_norm(embed(cloaked) - reference, dim=-1).mean()

    result = ssim_constrained_ascent(
        crop,
        score,
        sign * options.goal,
        budget,
        box,
        options,
        grid=grid,
        start=start,
        callback=callback,
    )
    return replace(result, distance=sign * result.distance)


def ssim_constrained_ascent(
    crop: Tensor,
    score: Score,
    goal: float,
    budget: Tensor,
    box: Box | Sequence[Box],
    options: PerceptualOptions,
    *,
    grid: tuple[int, int] | None = None,
    start: Tensor | None = None,
    callback: Callable[[int], None] | None = None,
    min_steps: int = 0,
) -> PerceptualResult:
    """Raise ``score(cloaked crop)`` up to ``goal`` with Adam on a cloak bounded by
    ``eps * budget``, the SSIM of the face region ``box`` (or of each of several boxes) hinged
    at ``options.ssim_target``; keep the best iterate that meets the target. (``options.goal`` and
    ``options.toward`` are not used here: the result's ``distance`` is the score, its ``ssim`` the
    lowest over the boxes.) With a random ``score`` (transforms), ``min_steps`` keeps going
    past a lucky draw that meets the goal once.
    """
    crop = crop.detach()
    shape = grid if grid is not None else tuple(crop.shape[-2:])
    # A tiny random start: a distance has no gradient at the clean crop itself.
    if start is None:
        start = (torch.rand((1, 3, *shape), dtype=crop.dtype) * 2 - 1) * min(options.eps, 1 / 255)
    latent = start.detach().clone().requires_grad_(True)
    optimiser = _Adam(latent, options.step_size)
    boxes = [box] if isinstance(box[0], int) else list(box)
    weight = options.ssim_weight
    samplers = [_SSIMSampler(_cut(crop, b)) for b in boxes]
    best = (-math.inf, crop, 1.0, latent.detach().clone())  # score, cloaked crop, ssim, latent
    value = ssim = 0.0
    steps_run = 0
    for step in range(1, options.steps + 1):
        cloaked = _apply(crop, latent, budget)
        score_t = score(cloaked)
        ssims = torch.stack(
            [sample(_cut(cloaked, b)) for sample, b in zip(samplers, boxes, strict=True)]
        )
        value, ssim = float(score_t.detach()), float(ssims.detach().min())
        if ssim >= options.ssim_target and value > best[0]:
            best = (value, cloaked.detach(), ssim, latent.detach().clone())
        if value >= goal and ssim >= options.ssim_target and step > min_steps:
            break
        deficit = options.ssim_target - ssim
        weight *= 1.0 + options.ssim_weight_growth * max(deficit, -0.5e-3) / 1e-3
        weight = min(max(weight, 1.0), 1e5)
        loss = -score_t.clamp(max=goal) + weight * F.relu(options.ssim_target - ssims).sum()
        (grad,) = torch.autograd.grad(loss, latent)
        optimiser.step(grad)
        with torch.no_grad():
            latent.clamp_(-options.eps, options.eps)
        steps_run = step
        if callback is not None:
            callback(step)
    if best[0] == -math.inf:  # never met the SSIM target: the last iterate (the caller scales)
        best = (value, _apply(crop, latent, budget).detach(), ssim, latent.detach())
    logger.debug("SSIM-constrained ascent: %d steps, score %.3f, SSIM %.4f", steps_run, *best[::2])
    return PerceptualResult(
        cloaked=best[1], steps=steps_run, distance=best[0], ssim=best[2], latent=best[3]
    )


def scale_to_ssim_floor(
    crop: Tensor, cloaked: Tensor, boxes: Sequence[Box], floor: float, rounds: int = 8
) -> float:
    """The largest share of the cloak (bisection) that keeps every box's SSIM >= ``floor``, as
    measured on the 8-bit result (the same SSIM as :func:`facecloak.quality.ssim`)."""
    original = quantise(crop)
    change = cloaked.detach() - crop.detach()

    def lowest_ssim_at(scale: float) -> float:
        candidate = quantise(crop.detach() + scale * change)
        return min(float(differentiable_ssim(_cut(original, b), _cut(candidate, b))) for b in boxes)

    if lowest_ssim_at(1.0) >= floor:
        return 1.0
    low, high = 0.0, 1.0
    for _ in range(rounds):
        middle = (low + high) / 2
        low, high = (middle, high) if lowest_ssim_at(middle) >= floor else (low, middle)
    logger.info("cloak scaled to %.2f to keep SSIM >= %.3f", low, floor)
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
    """SSIM of the face region against the clean one: exact on small regions; on large ones
    estimated from every ``stride``-th window, from a random offset per call."""

    def __init__(self, clean: Tensor) -> None:
        self.clean = clean
        side = min(clean.shape[-2:])
        self.stride = min(SSIM_MAX_STRIDE, max(1, math.ceil(side / SSIM_SAMPLED_SIDE)))

    def __call__(self, cloaked: Tensor) -> Tensor:
        offset = tuple(int(v) for v in torch.randint(self.stride, (2,)))
        return differentiable_ssim(cloaked, self.clean, stride=self.stride, offset=offset)


def _cut(image: Tensor, box: Box) -> Tensor:
    x0, y0, x1, y1 = box
    return image[..., y0:y1, x0:x1]


def _apply(crop: Tensor, latent: Tensor, budget: Tensor) -> Tensor:
    """The crop plus the latent cloak, brought to the crop's grid and scaled by the budget."""
    change = latent
    if change.shape[-2:] != crop.shape[-2:]:
        change = F.interpolate(change, size=crop.shape[-2:], mode="bilinear", align_corners=False)
    return (crop + budget * change).clamp(0.0, 1.0)
