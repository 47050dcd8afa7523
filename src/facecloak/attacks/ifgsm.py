"""I-FGSM (BIM): iterative sign-gradient steps inside the L-inf ball, from the input itself."""

from __future__ import annotations

from torch import Tensor

from facecloak.attacks.base import Attack


class IFGSM(Attack):
    """Iterative FGSM (Kurakin et al.): PGD's step without the random start.

    Repeats ``x <- clip(project(x - step_size * sign(grad)))`` from the clean input. With
    ``momentum`` it is MI-FGSM, with ``diversity_prob`` DI-FGSM.

    Example::

        attack = IFGSM(classifier, ClassifierTargeted(7), eps=8 / 255, early_stop=True)
        x_adv = attack(images)
    """

    name = "ifgsm"
    needs_eps = True

    eps = 8 / 255
    steps = 10
    step_size = 1 / 255

    def descent_step(self, grad: Tensor, x_adv: Tensor, x: Tensor) -> Tensor:
        return self.step_size * grad.sign()
