"""P-FGVM: I-FGVM with a realism penalty that pulls the image back toward the original."""

from __future__ import annotations

from typing import TYPE_CHECKING

from torch import Tensor

from facecloak.attacks.base import Attack, AttackOptions, Model, rms_normalized
from facecloak.attacks.objectives import Objective

if TYPE_CHECKING:
    from typing_extensions import Unpack


class PFGVM(Attack):
    """Penalised fast gradient value method: ``x_i <- clip(x_i - a * (g_i + lam * (x_i - x)))``.

    The step descends ``loss(x_i) + lam / 2 * ||x_i - x||^2``: the second term keeps the image
    close to the original. ``g_i`` is the loss gradient, normalised exactly as in
    :class:`~facecloak.attacks.ifgvm.IFGVM` (per-sample root-mean-square 1 when ``normalize``), so
    ``lam = 0`` is I-FGVM and ``lam`` is on a fixed scale: where the loss gradient keeps one
    direction, pixels settle near ``1 / lam`` away from the original (``lam = 30``: about 8/255).
    Momentum, when on, applies to ``g_i`` only. Keep ``step_size * lam < 2`` for the penalty
    to converge rather than oscillate.

    Example::

        attack = PFGVM(recognizer, EmbeddingUntargeted(), lam=30.0, steps=30)
        x_adv = attack(chips)
    """

    name = "pfgvm"

    def __init__(
        self,
        model: Model,
        objective: Objective | None = None,
        *,
        lam: float = 30.0,
        eps: float | None = None,
        steps: int = 10,
        step_size: float = 1 / 255,
        random_start: bool = False,
        normalize: bool = True,
        **options: Unpack[AttackOptions],
    ) -> None:
        if lam < 0:
            raise ValueError(f"lam must be >= 0, got {lam}")
        super().__init__(
            model,
            objective,
            eps=eps,
            steps=steps,
            step_size=step_size,
            random_start=random_start,
            **options,
        )
        self.lam = float(lam)
        self.normalize = normalize

    def descent_step(self, grad: Tensor, x_adv: Tensor, x: Tensor) -> Tensor:
        direction = rms_normalized(grad) if self.normalize else grad
        return self.step_size * (direction + self.lam * (x_adv - x))
