"""I-FGSM (BIM): iterative sign-gradient steps inside the L-inf ball, from the input itself."""

from __future__ import annotations

from typing import TYPE_CHECKING

from torch import Tensor

from facecloak.attacks.base import Attack, AttackOptions, Model
from facecloak.attacks.objectives import Objective

if TYPE_CHECKING:
    from typing_extensions import Unpack


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

    def __init__(
        self,
        model: Model,
        objective: Objective | None = None,
        *,
        eps: float = 8 / 255,
        steps: int = 10,
        step_size: float = 1 / 255,
        random_start: bool = False,
        **options: Unpack[AttackOptions],
    ) -> None:
        super().__init__(
            model,
            objective,
            eps=eps,
            steps=steps,
            step_size=step_size,
            random_start=random_start,
            **options,
        )

    def descent_step(self, grad: Tensor, x_adv: Tensor, x: Tensor) -> Tensor:
        return self.step_size * grad.sign()
