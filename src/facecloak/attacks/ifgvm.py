"""I-FGVM: iterative steps along the gradient itself rather than its sign."""

from __future__ import annotations

from torch import Tensor

from facecloak.attacks.base import Attack
from facecloak.attacks.common import rms_normalized


class IFGVM(Attack):
    """Iterative fast gradient value method: ``x <- clip(x - step_size * g)``.

    ``g`` is the loss gradient rescaled per sample to a root-mean-square of 1 (an L2
    normalisation times ``sqrt(number of values)``) when ``normalize`` is on: the step keeps the
    gradient's direction and relative magnitudes (unlike a sign step) while ``step_size`` means
    "average change per pixel per step", independent of the loss scale and the image size, and
    comparable to a sign attack's step. ``normalize=False`` uses the raw gradient.

    ``eps=None`` (the default) leaves the perturbation unbounded; with ``eps`` it is projected into
    the L-inf ball like PGD.

    Example::

        attack = IFGVM(recognizer, EmbeddingUntargeted(), steps=20, step_size=1 / 255)
        x_adv = attack(chips)
    """

    name = "ifgvm"

    hyperparameters = ("normalize",)
    normalize: bool = True

    def descent_step(self, grad: Tensor, x_adv: Tensor, x: Tensor) -> Tensor:
        return self.step_size * (rms_normalized(grad) if self.normalize else grad)
