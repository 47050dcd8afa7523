"""Adversarial attacks that work on any differentiable PyTorch model, batched.

Every attack perturbs the tensor a callable ``model(x)`` receives, lowering an objective from
:mod:`facecloak.attacks.objectives`, and returns the adversarial tensor; per-sample steps, loss
and success are in ``attack.last_result`` (or use ``attack.run(x)``).

Example::

    from facecloak.attacks import EmbeddingUntargeted, make_attack

    attack = make_attack("pgd", recognizer, EmbeddingUntargeted(margin=0.1), eps=4 / 255)
    x_adv = attack(chips)
"""

from __future__ import annotations

from typing import Any

from facecloak.attacks.base import Attack
from facecloak.attacks.classifier_objectives import ClassifierTargeted, ClassifierUntargeted
from facecloak.attacks.common import AttackOptions, AttackResult, Model, StepInfo
from facecloak.attacks.ensemble import EnsembleMember, EnsembleUntargeted
from facecloak.attacks.evasion import DetectorEvasion, NearbyScores
from facecloak.attacks.ifgsm import IFGSM
from facecloak.attacks.ifgvm import IFGVM
from facecloak.attacks.objectives import (
    EmbeddingTargeted,
    EmbeddingUntargeted,
    Objective,
    ObjectiveResult,
)
from facecloak.attacks.perceptual import Perceptual, PerceptualResult
from facecloak.attacks.pfgvm import PFGVM
from facecloak.attacks.pgd import PGD
from facecloak.attacks.transforms import (
    InputDiversity,
    RandomCompose,
    RandomGaussianBlur,
    RandomJPEG,
    RandomResize,
    RandomShift,
    eot_transform,
)

ATTACKS: dict[str, type[Attack]] = {
    attack.name: attack for attack in (PGD, IFGSM, IFGVM, PFGVM, Perceptual)
}
"""Attack classes by the name :func:`make_attack` takes."""


def make_attack(name: str, model: Model, objective: Objective | None = None, **kw: Any) -> Attack:
    """Build an attack by name: ``pgd``, ``ifgsm``, ``ifgvm``, ``pfgvm`` or ``perceptual``.

    Case, ``-`` and ``_`` are ignored (``"I-FGSM"`` works). ``kw`` goes to the attack's
    constructor.

    Example::

        attack = make_attack("pfgvm", model, EmbeddingUntargeted(), lam=30.0, steps=20)
    """
    key = name.lower().replace("-", "").replace("_", "")
    if key not in ATTACKS:
        raise ValueError(f"unknown attack {name!r}; choose one of {', '.join(ATTACKS)}")
    return ATTACKS[key](model, objective, **kw)


__all__ = [
    "ATTACKS",
    "IFGSM",
    "IFGVM",
    "PFGVM",
    "PGD",
    "Attack",
    "AttackOptions",
    "AttackResult",
    "ClassifierTargeted",
    "ClassifierUntargeted",
    "DetectorEvasion",
    "EmbeddingTargeted",
    "EmbeddingUntargeted",
    "EnsembleMember",
    "EnsembleUntargeted",
    "InputDiversity",
    "Model",
    "NearbyScores",
    "Objective",
    "ObjectiveResult",
    "Perceptual",
    "PerceptualResult",
    "RandomCompose",
    "RandomGaussianBlur",
    "RandomJPEG",
    "RandomResize",
    "RandomShift",
    "StepInfo",
    "eot_transform",
    "make_attack",
]
