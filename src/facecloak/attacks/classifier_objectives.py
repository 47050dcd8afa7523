"""Objectives for closed-set classifiers: miss the true class, or reach a chosen one.

Two losses each: the cross-entropy (what sign-gradient attacks use), or, with ``margin``, the
logit margin of Carlini & Wagner (how far the best wrong class, or the target, leads), whose
:attr:`~facecloak.attacks.objectives.Objective.goal` is that lead: the perceptual attack stops
there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from facecloak.attacks.objectives import Objective, ObjectiveResult, OutputKey, select_output


def _as_label_tensor(labels: Tensor | Sequence[int] | int) -> Tensor:
    return torch.as_tensor(labels, dtype=torch.long).detach()


def _label_rows(labels: Tensor, logits: Tensor, index: Tensor | None) -> Tensor:
    labels = labels.to(logits.device)
    if labels.ndim == 0:
        return labels.expand(logits.shape[0])
    return labels if index is None else labels[index]


class _ClassifierObjective(Objective):
    def __init__(
        self,
        labels: Tensor | Sequence[int] | int,
        logits_key: OutputKey | None,
        margin: float | None = None,
    ) -> None:
        if margin is not None and margin < 0:
            raise ValueError(f"margin must be >= 0 logits, got {margin}")
        self.margin = margin
        self.labels = _as_label_tensor(labels)
        if self.labels.ndim > 1:
            shape = tuple(self.labels.shape)
            raise ValueError(f"labels must be a scalar or (N,), got shape {shape}")
        self.logits_key = logits_key

    @property
    def goal(self) -> float | None:
        return None if self.margin is None else -self.margin

    def _logits_and_labels(self, output: Any, index: Tensor | None) -> tuple[Tensor, Tensor]:
        logits = select_output(output, self.logits_key)
        return logits, _label_rows(self.labels, logits, index)


def logit_lead(logits: Tensor, classes: Tensor) -> Tensor:
    """``(n,)`` how far class ``classes[i]`` leads the best other class in row ``i``."""
    chosen = logits.gather(1, classes[:, None])[:, 0]
    others = logits.scatter(1, classes[:, None], float("-inf"))
    return chosen - others.max(1).values


class ClassifierUntargeted(_ClassifierObjective):
    """Make a classifier miss the true class: maximise its cross-entropy.

    Loss: minus the cross-entropy on ``labels``. Success: the arg-max is not the true class.

    Args:
        labels: the true class, one for the batch or ``(N,)`` per sample.
        logits_key: where the logits are in a list/tuple/dict output.

    Example::

        x_adv = PGD(classifier, ClassifierUntargeted(true_ids), eps=8 / 255)(images)
    """

    def __init__(
        self,
        labels: Tensor | Sequence[int] | int,
        logits_key: OutputKey | None = None,
        margin: float | None = None,
    ) -> None:
        super().__init__(labels, logits_key, margin)

    def __call__(
        self, output: Any, clean_output: Any = None, index: Tensor | None = None
    ) -> ObjectiveResult:
        logits, labels = self._logits_and_labels(output, index)
        if self.margin is not None:
            loss = logit_lead(logits, labels)
            return ObjectiveResult(loss=loss, success=loss <= -self.margin)
        loss = -F.cross_entropy(logits, labels, reduction="none")
        return ObjectiveResult(loss=loss, success=logits.argmax(-1) != labels)


class ClassifierTargeted(_ClassifierObjective):
    """Make a classifier predict a chosen class: minimise its cross-entropy on it.

    Loss: the cross-entropy on ``targets``. Success: the arg-max is the target class.

    Args:
        targets: the class to reach, one for the batch or ``(N,)`` per sample.
        logits_key: where the logits are in a list/tuple/dict output.

    Example::

        x_adv = IFGSM(classifier, ClassifierTargeted(3), early_stop=True)(images)
    """

    def __init__(
        self,
        targets: Tensor | Sequence[int] | int,
        logits_key: OutputKey | None = None,
        margin: float | None = None,
    ) -> None:
        super().__init__(targets, logits_key, margin)

    def __call__(
        self, output: Any, clean_output: Any = None, index: Tensor | None = None
    ) -> ObjectiveResult:
        logits, targets = self._logits_and_labels(output, index)
        if self.margin is not None:
            loss = -logit_lead(logits, targets)
            return ObjectiveResult(loss=loss, success=loss <= -self.margin)
        loss = F.cross_entropy(logits, targets, reduction="none")
        return ObjectiveResult(loss=loss, success=logits.argmax(-1) == targets)
