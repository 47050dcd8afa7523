"""Objective for hiding faces from detectors: every detector score near a face below a share of
that detector's threshold.

The model (see :mod:`facecloak.protect.evasion`) returns, per detector, the scores of the
candidates near the protected faces and the detector's threshold. Loss: the summed excess of
those scores over ``goal_share * threshold``; success (the goal, 0): no excess left.

Example:
    >>> import torch
    >>> objective = DetectorEvasion(goal_share=0.5)
    >>> result = objective([NearbyScores(torch.tensor([[0.2, 0.9]]), threshold=0.6)])
    >>> round(float(result.loss[0]), 3), bool(result.success[0])
    (0.6, False)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch.nn.functional as F
from torch import Tensor

from facecloak.attacks.objectives import Objective, ObjectiveResult


@dataclass(frozen=True)
class NearbyScores:
    """One detector's face probabilities near the protected faces, ``(n, k)``, and the
    threshold at which it reports a face."""

    scores: Tensor
    threshold: float


class DetectorEvasion(Objective):
    """Push every nearby detector score below ``goal_share`` of its detector's threshold (the
    margin keeps the face hidden after re-encoding)."""

    def __init__(self, goal_share: float = 0.4) -> None:
        if not 0 < goal_share <= 1:
            raise ValueError(f"goal_share must be in (0, 1], got {goal_share}")
        self.goal_share = float(goal_share)

    @property
    def goal(self) -> float:
        return 0.0

    def __call__(
        self, output: Sequence[NearbyScores], clean_output: Any = None, index: Tensor | None = None
    ) -> ObjectiveResult:
        loss = None
        for nearby in output:
            excess = F.relu(nearby.scores - self.goal_share * nearby.threshold).sum(-1)
            loss = excess if loss is None else loss + excess
        if loss is None:
            raise ValueError("DetectorEvasion needs at least one detector's scores")
        return ObjectiveResult(loss=loss, success=loss <= 0)
