"""How visible a change is, as the optimiser may measure it: SSIM at the scale a recognizer sees a
face (:func:`viewed`), a dual-ascent hinge on SSIMULACRA2 (:class:`ScoreHinge`), and where a
change hides best (:func:`texture_budget`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from facecloak.quality import phases_that_fit
from facecloak.ssimulacra import (
    Box,
    Ssimulacra2Reference,
    scale_shares,
    score_of_terms,
    weighted_sum,
)


def chip_spacing(chip_to_crop: Any) -> float:
    """Crop pixels per chip pixel of the ``(2, 3)`` affine map ``chip_to_crop``: how much larger
    the face is in the photo than the recognizer sees it."""
    linear = np.asarray(chip_to_crop, dtype=np.float64).reshape(2, 3)[:, :2]
    return float(np.sqrt(abs(np.linalg.det(linear))))


def viewed(image: Tensor, view: float) -> Tensor:
    """``image`` shrunk ``view`` times (area average; unchanged at ``view <= 1``): SSIM there
    judges a change as it shows at that scale, where a smooth change is not free.

    >>> viewed(torch.ones(1, 3, 40, 60), 4.0).shape
    torch.Size([1, 3, 10, 15])
    """
    if view <= 1.0:
        return image
    height, width = image.shape[-2:]
    size = (max(8, round(height / view)), max(8, round(width / view)))
    return F.interpolate(image, size=size, mode="area")


class ScoreHinge:
    """A penalty that keeps each region's SSIMULACRA2 at ``target`` or above: ``weight`` times
    the summed shortfall in score points, the weight growing by ``growth`` per point of the worst
    shortfall each call (shrinking a little while every region is above), a Lagrangian's dual
    ascent.

    Scores are in float32 (:class:`~facecloak.ssimulacra.Ssimulacra2Reference`), each region's
    clean side computed once. Above the target the penalty and its gradient are zero, so a met
    target gives a zero without a graph: the backward pass through the metric (most of its cost)
    is skipped with the same result. While the last scores were more than ``headroom`` points
    above the target, a call first scores without a gradient at all. With several ``phases``
    (:data:`facecloak.quality.S2_PHASES`), each call scores the regions with their corner moved
    by the next one in turn, so the change cannot hide between the blocks of one pixel grid.
    ``within`` gives, per region, the box outside which the changed regions equal the clean
    ones: only there is the metric computed (the same score, a fraction of the cost).
    ``fine_every`` > 1: the finest scales that carry little of the score
    (:class:`_HeldScales`) are computed on every ``fine_every``-th turn of a phase only, held
    in between; they are most of the metric's pixels.

    >>> clean = [torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(1))]
    >>> hinge = ScoreHinge(clean, target=90.0)
    >>> penalty, met = hinge([clean[0].clamp(0.2, 0.8)])
    >>> float(penalty) > 0, met
    (True, False)
    >>> penalty, met = hinge([clean[0]])
    >>> float(penalty), penalty.requires_grad, met
    (0.0, False, True)
    """

    def __init__(
        self,
        clean: Sequence[Tensor],
        target: float,
        weight: float = 0.02,
        growth: float = 0.05,
        headroom: float = 3.0,
        phases: Sequence[tuple[int, int]] = ((0, 0),),
        within: Sequence[Box | None] | None = None,
        fine_every: int = 1,
    ) -> None:
        if fine_every < 1:
            raise ValueError(f"fine_every={fine_every}: give 1 (every turn) or more")
        height, width = (min(r.shape[axis] for r in clean) for axis in (-2, -1))
        self.phases = phases_that_fit(height, width, phases)
        boxes = [None] * len(clean) if within is None else within
        self.references = [
            phase_references(r.detach(), self.phases, torch.float32, box)
            for r, box in zip(clean, boxes, strict=True)
        ]
        self.target, self.weight, self.growth = float(target), weight, growth
        self.headroom = headroom
        self.last_worst = -math.inf
        self.gradient_free_calls = 0
        self.calls = 0
        self.recent_worst = [-math.inf] * len(self.phases)
        """Each phase's worst score at its last turn: met means met on every phase lately."""
        self.fine_every = fine_every
        self.turns = [0] * len(self.phases)
        self.held = [[_HeldScales() for _ in clean] for _ in self.phases]

    def __call__(self, regions: Sequence[Tensor]) -> tuple[Tensor, bool]:
        """The penalty for ``regions`` (the same crops of the changed image) and whether every
        region meets the target, on this call's phase and on each other phase at its last turn."""
        turn = self.calls % len(self.phases)
        self.calls += 1
        full = self.turns[turn] % self.fine_every == 0
        self.turns[turn] += 1
        scores: Tensor | None = None
        if self.last_worst > self.target + self.headroom:
            with torch.no_grad():
                scores = self._scores(regions, turn, full)
            if float(scores.min()) >= self.target:
                self.gradient_free_calls += 1
            else:
                scores = None  # below: score again, with the gradient the penalty needs
        if scores is None:
            scores = self._scores(regions, turn, full)
        worst = float(scores.detach().min())
        self.last_worst = worst
        self.recent_worst[turn] = worst
        shortfall = self.target - worst
        self.weight = min(max(self.weight * (1.0 + self.growth * max(shortfall, -0.5)), 1e-4), 1e2)
        met = min(self.recent_worst) >= self.target
        if shortfall <= 0:  # zero and flat: no graph, so no backward pass through the metric
            return regions[0].new_zeros(()), met
        penalty = self.weight * F.relu(self.target - scores).sum()
        return penalty.to(regions[0].dtype), False

    def _scores(self, regions: Sequence[Tensor], turn: int, full: bool) -> Tensor:
        phase = self.phases[turn]
        return torch.cat(
            [
                held.score(scores[turn], phased(after, phase), full)
                for scores, after, held in zip(
                    self.references, regions, self.held[turn], strict=True
                )
            ]
        )


def phase_references(
    window: Tensor,
    phases: Sequence[tuple[int, int]],
    dtype: torch.dtype = torch.float64,
    within: Box | None = None,
) -> list[Ssimulacra2Reference]:
    """SSIMULACRA2 against ``window`` with its corner moved by each of ``phases`` (which must
    fit: :func:`facecloak.quality.phases_that_fit`), one reference per phase; ``within``: the
    box of ``window`` outside which its changed versions equal it (see
    :class:`~facecloak.ssimulacra.Ssimulacra2Reference`)."""
    return [
        Ssimulacra2Reference(phased(window, phase), dtype, _moved(within, phase))
        for phase in phases
    ]


def _moved(box: Box | None, phase: tuple[int, int]) -> Box | None:
    if box is None:
        return None
    dx, dy = phase
    return box[0] - dx, box[1] - dy, box[2] - dx, box[3] - dy


def changing_box(budget: Tensor) -> Box | None:
    """The smallest ``(x0, y0, x1, y1)`` box holding every pixel where ``budget`` (``(..., h,
    w)``) lets the image change; ``None`` when it lets none.

    >>> budget = torch.zeros(1, 1, 8, 10); budget[..., 2:5, 3:7] = 0.5
    >>> changing_box(budget)
    (3, 2, 7, 5)
    """
    where = budget.detach().reshape(-1, *budget.shape[-2:]).gt(0).any(0)
    rows, columns = where.any(1).nonzero(), where.any(0).nonzero()
    if rows.numel() == 0:
        return None
    return int(columns[0]), int(rows[0]), int(columns[-1]) + 1, int(rows[-1]) + 1


def phased(image: Tensor, phase: tuple[int, int]) -> Tensor:
    """``image`` without its first ``phase = (x, y)`` columns and rows: SSIMULACRA2's blocks
    moved by that much (see :data:`facecloak.quality.S2_PHASES`).

    >>> phased(torch.zeros(1, 3, 10, 12), (2, 1)).shape
    torch.Size([1, 3, 9, 10])
    """
    dx, dy = phase
    return image[..., dy:, dx:]


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


FINE_SHARE = 0.15
"""The finest scales held between turns carry at most this share of the weighted sum behind
the score, as last computed (:class:`_HeldScales`)."""


class _HeldScales:
    """One region and phase's SSIMULACRA2, its finest scales computed on ``full`` calls only and
    held in between (no gradient through them then), scaled by how much the other scales' part
    of the score has grown since.

    On a large face the finest scales are most of the pixels yet little of the score: a cloak
    on the recognizer's pixel grid, 3-4 photo pixels per cell, shows at the scale of that grid
    (BENCHMARKS.md ``s2-fine-scales``: on deepface's faces scales 0-1 carry a fifth of the
    weighted sum, 94% of the pixels; on LFW's half, and none is held there).
    Which scales are held is chosen anew on each full call: the finest ones whose shares add up
    to at most :data:`FINE_SHARE`.
    """

    def __init__(self) -> None:
        self.fine: tuple[int, ...] = ()
        self.held: Tensor | None = None
        """The last full call's terms of the ``fine`` scales (zero elsewhere)."""
        self.computed_then = torch.ones(1)
        """The last full call's weighted sum over the other scales."""

    def score(self, reference: Ssimulacra2Reference, changed: Tensor, full: bool) -> Tensor:
        if full or self.held is None:
            terms = reference.terms(changed)
            self._hold(terms.detach())
            return score_of_terms(terms)
        fresh = reference.terms(changed, skipped=self.fine)
        growth = weighted_sum(fresh) / self.computed_then
        return score_of_terms(fresh + self.held * growth.view(-1, 1, 1, 1))

    def _hold(self, terms: Tensor) -> None:
        self.fine = _finest(scale_shares(terms))
        fine = list(self.fine)
        self.held = torch.zeros_like(terms)
        self.held[:, :, fine] = terms[:, :, fine]
        self.computed_then = weighted_sum(terms - self.held).clamp(min=1e-12)


def _finest(shares: Tensor) -> tuple[int, ...]:
    """The finest scales whose shares (``(n, scale)``, every image) add up to at most
    :data:`FINE_SHARE`."""
    worst = shares.max(0).values
    if float(worst.sum()) == 0:  # no change yet: nothing to tell the scales apart by
        return ()
    cumulative = worst.cumsum(0)[:-1]  # the coarsest scale is always computed
    return tuple(int(i) for i in torch.nonzero(cumulative <= FINE_SHARE).flatten())
