"""What attacks take and give: the model type, per-step progress, results, shared options, and
the tensor helpers the attacks share."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypedDict

import torch
from torch import Tensor

from facecloak.attacks.transforms import Transform

logger = logging.getLogger(__name__)

Model = Callable[[Tensor], Any]
"""Any differentiable callable: ``model(x)`` returns a tensor or a list/tuple/dict of tensors."""

TINY = 1e-12  # guards divisions by a gradient norm that can be exactly zero


@dataclass(frozen=True)
class StepInfo:
    """What the per-step callback receives.

    Attributes:
        step: 1-based number of the step just run.
        total: the attack's maximum number of steps.
        loss: ``(N,)`` loss where the step's gradient was taken (last value for finished samples).
        success: ``(N,)`` success there.
        active: ``(N,)`` samples still being updated.
    """

    step: int
    total: int
    loss: Tensor
    success: Tensor
    active: Tensor


@dataclass(frozen=True)
class AttackResult:
    """The adversarial batch and what happened to each sample.

    Attributes:
        adversarial: same shape and dtype as the input, in [0, 1], detached.
        steps: ``(N,)`` int64, update steps applied to each sample.
        loss: ``(N,)`` objective loss on the untransformed adversarial input.
        success: ``(N,)`` bool, objective success on the untransformed adversarial input.
    """

    adversarial: Tensor
    steps: Tensor
    loss: Tensor
    success: Tensor


class AttackOptions(TypedDict, total=False):
    """Options every attack takes as keywords (see :class:`Attack`)."""

    early_stop: bool
    momentum: float
    diversity_prob: float
    diversity_min_scale: float
    mask: Tensor | None
    transform: Transform | None
    eot_samples: int
    callback: Callable[[StepInfo], None] | None
    generator: torch.Generator | None
    forward_active_only: bool


def finite_or_zero(grad: Tensor) -> Tensor:
    """``grad`` with NaN/inf entries zeroed: one bad value would otherwise poison the image."""
    if bool(torch.isfinite(grad).all()):
        return grad
    logger.warning("non-finite input gradient: those entries are set to 0 for this step")
    return torch.nan_to_num(grad, nan=0.0, posinf=0.0, neginf=0.0)


def broadcasts_to(shape: torch.Size, target: torch.Size) -> bool:
    # Spelled out: torch.broadcast_shapes lazily imports torch._refs, about a second.
    if len(shape) > len(target):
        return False
    trailing = target[len(target) - len(shape) :]
    return all(size in (1, wanted) for size, wanted in zip(shape, trailing, strict=True))


def per_sample(values: Tensor, like: Tensor) -> Tensor:
    """``(N,)`` values shaped to broadcast against ``like`` (``(N, ...)``)."""
    return values.view(-1, *([1] * (like.ndim - 1)))


def rms_normalized(grad: Tensor) -> Tensor:
    """``grad`` scaled per sample to a root-mean-square of 1 (its direction is kept).

    A step ``step_size * rms_normalized(grad)`` changes pixels by ``step_size`` on average
    (root-mean-square), whatever the image size or the loss scale.
    """
    rms = grad.flatten(1).square().mean(1).sqrt().clamp_min(TINY)
    return grad / per_sample(rms, grad)
