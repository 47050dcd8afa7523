"""PGD: projected sign-gradient descent from a random point of the L-inf ball."""

from __future__ import annotations

from facecloak.attacks.ifgsm import IFGSM


class PGD(IFGSM):
    """Projected gradient descent in the L-inf ball (Madry et al.).

    I-FGSM's step from a random start: a uniform point of the ``eps`` ball, then repeats
    ``x <- clip(project(x - step_size * sign(grad)))``. Targeted or untargeted is the
    objective's business (:class:`~facecloak.attacks.objectives.EmbeddingTargeted`,
    :class:`~facecloak.attacks.objectives.ClassifierUntargeted`, ...).

    Example::

        attack = PGD(recognizer, EmbeddingUntargeted(margin=0.1), eps=4 / 255, steps=20)
        x_adv = attack(chips)
        print(attack.last_result.success)
    """

    name = "pgd"
    needs_eps = True

    eps = 8 / 255
    steps = 10
    step_size = 2 / 255
    random_start = True
