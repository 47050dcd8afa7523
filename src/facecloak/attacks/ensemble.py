"""Untargeted objective over several recognizers at once, each in units of its own threshold.

Recognizers disagree on scale (dlib: Euclidean, threshold 0.6; cosine models: ``1 - cos``), so
each counts by its distance over its threshold. Each term is capped at the goal ratio, so one
recognizer far past its goal cannot hide another still short of it; a sample succeeds when every
recognizer is at its goal. The capped terms are summed, or (``temperature``) their soft minimum
is taken, which spends each step on the recognizer farthest from its goal: under a visibility
budget that binds, the sum spends it on whichever recognizer moves most easily, and transfers
less to recognizers it never saw.

Example:
    >>> import torch
    >>> members = [EnsembleMember(0.6), EnsembleMember(0.72, "cosine")]
    >>> anchors = (torch.zeros(1, 4), torch.tensor([[1.0, 0, 0, 0]]))
    >>> objective = EnsembleUntargeted(members, anchors, goal_ratio=1.5)
    >>> far = (torch.ones(1, 4), torch.tensor([[-1.0, 0, 0, 0]]))
    >>> bool(objective(far).success[0]), round(objective.goal, 6)
    (True, -2.999999)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from facecloak.attacks.objectives import Objective, ObjectiveResult

GOAL_SLACK = 1e-6
"""The goal sits this far below the sum of capped ratios so rounding cannot keep it out of
reach."""


@dataclass(frozen=True)
class EnsembleMember:
    """One recognizer's scale: its threshold and how it measures distance (``euclidean`` or
    ``cosine``: ``1 - cos``)."""

    threshold: float
    metric: str = "euclidean"

    def distance(self, a: Tensor, b: Tensor) -> Tensor:
        if self.metric == "cosine":
            return 1.0 - F.cosine_similarity(a, b, dim=-1)
        return torch.linalg.vector_norm(a - b, dim=-1)


class EnsembleUntargeted(Objective):
    """Away from each recognizer's clean embedding, in threshold units, every one capped.

    The model returns one embedding tensor per member (a tuple, in ``members``' order).
    Loss: minus the sum over members of ``min(distance / threshold, goal_ratio)`` (mean over
    faces); success: every ratio at least ``goal_ratio``. With ``decoys`` (one embedding per
    member of another person), plus ``pull`` times the sum of each member's distance to its
    decoy beyond the threshold, in threshold units: away *toward* someone, which unseen
    recognizers, trained on the same kind of identities, tend to agree with.

    Args:
        members: each recognizer's :class:`EnsembleMember` (or any object with ``threshold``
            and ``distance(a, b)``, such as a recognizer).
        anchors: each member's clean embedding, ``(1, D_m)``.
        goal_ratio: ``1 + margin / threshold``: how far past its threshold each must go.
        decoys: each member's embedding of the person to move toward, ``(1, D_m)``.
        pull: the weight of the decoy term (0: away only).
        temperature: ``None`` sums the capped ratios; a positive value takes their soft
            minimum instead (``-t * log(sum(exp(-ratio / t)))``), so each step's gradient goes
            mostly to the member farthest from its goal.
    """

    def __init__(
        self,
        members: Sequence[Any],
        anchors: Sequence[Tensor],
        goal_ratio: float,
        decoys: Sequence[Tensor] | None = None,
        pull: float = 0.0,
        temperature: float | None = None,
    ) -> None:
        if len(members) != len(anchors) or not members:
            raise ValueError("give one anchor per ensemble member, and at least one member")
        if goal_ratio <= 0:
            raise ValueError(f"goal_ratio must be positive, got {goal_ratio}")
        if decoys is not None and len(decoys) != len(members):
            raise ValueError("give one decoy embedding per ensemble member")
        self.members = list(members)
        self.anchors = [anchor.detach() for anchor in anchors]
        self.goal_ratio = float(goal_ratio)
        self.decoys = None if decoys is None else [decoy.detach() for decoy in decoys]
        self.pull = float(pull)
        if temperature is not None and temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        self.temperature = temperature

    @property
    def goal(self) -> float:
        count = len(self.members)
        if self.temperature is None:
            return -(self.goal_ratio * count - GOAL_SLACK)
        return -(self.goal_ratio - self.temperature * math.log(count) - GOAL_SLACK)

    def ratios(
        self, output: Sequence[Tensor], anchors: Sequence[Tensor] | None = None
    ) -> list[Tensor]:
        """Per member, ``(n,)`` distance over threshold (from ``anchors``, default the clean
        embeddings)."""
        return [
            member.distance(embedding, anchor.to(embedding.dtype))
            .reshape(embedding.shape[0], -1)
            .mean(1)
            / float(member.threshold)
            for member, embedding, anchor in zip(
                self.members, output, anchors or self.anchors, strict=True
            )
        ]

    def __call__(
        self, output: Any, clean_output: Any = None, index: Tensor | None = None
    ) -> ObjectiveResult:
        ratios = self.ratios(output)
        capped = torch.stack([ratio.clamp(max=self.goal_ratio) for ratio in ratios])
        reached = torch.stack([ratio >= self.goal_ratio for ratio in ratios]).all(0)
        if self.temperature is None:
            loss = -capped.sum(0)
        else:
            loss = self.temperature * torch.logsumexp(-capped / self.temperature, dim=0)
        if self.decoys is not None and self.pull > 0:
            beyond = [(ratio - 1.0).clamp(min=0.0) for ratio in self.ratios(output, self.decoys)]
            loss = loss + self.pull * torch.stack(beyond).sum(0)
        return ObjectiveResult(loss=loss, success=reached)
