"""P-FGVM: I-FGVM with a realism penalty that pulls the image back toward the original."""

from __future__ import annotations

from torch import Tensor

from facecloak.attacks.base import Attack
from facecloak.attacks.common import rms_normalized


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

    hyperparameters = ("lam", "normalize")
    lam: float = 30.0
    normalize: bool = True

    def _check_options(self, momentum: float, eot_samples: int) -> None:
        super()._check_options(momentum, eot_samples)
        if self.lam < 0:
            raise ValueError(f"lam must be >= 0, got {self.lam}")

    def descent_step(self, grad: Tensor, x_adv: Tensor, x: Tensor) -> Tensor:
        direction = rms_normalized(grad) if self.normalize else grad
        return self.step_size * (direction + self.lam * (x_adv - x))
