"""What to protect against and how: one frozen, validated :class:`ProtectConfig`.

Every choice is checked when the config is made, so a bad value fails before any work with one
line naming the field, the value and what is valid.

Example:
    >>> config = ProtectConfig(against="both", strength="low")
    >>> config.stages
    ('identity', 'evasion')
    >>> ProtectConfig(eps=-5)
    Traceback (most recent call last):
    ...
    facecloak.errors.InvalidOptionError: eps=-5 is out of range: give a number in (0, 1]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from facecloak.errors import InvalidOptionError
from facecloak.models import DEFAULT_DETECTOR, DETECTORS
from facecloak.obfuscate import OBFUSCATIONS
from facecloak.protect.evasion_settings import (
    EVASION_DETECTORS,
    EvasionSettings,
    available_evasion_detectors,
)
from facecloak.protect.presets import DEFAULT_STRENGTH, PRESETS, Strength, after_replacement
from facecloak.replace.shapes import DEFAULT_STRENGTH as DEFAULT_SHAPE_MIX
from facecloak.replace.shapes import MAX_STRENGTH as MAX_SHAPE_MIX

if TYPE_CHECKING:
    from torch import Tensor, nn

AGAINST = ("recognition", "detection", "both")
CLASSICAL_METHODS = tuple(OBFUSCATIONS)
SWAP_METHOD = "swap"
"""The training-free face swap (:mod:`facecloak.obfuscate.swap`): needs ``donors``."""
REPLACE_METHOD = "replace"
"""Identity replacement by the learned generator (:mod:`facecloak.obfuscate.replace`)."""
VISIBLE_METHODS = (*CLASSICAL_METHODS, SWAP_METHOD, REPLACE_METHOD)
"""Methods that change the face visibly (one ``obfuscation`` stage, no cloak)."""
THEN = ("cloak",)
"""What may follow a replacement (``then``)."""
COVERING_METHODS = CLASSICAL_METHODS
"""Methods that cover the face (blur, pixelate, mask): not measured unless ``verify``."""
DEFAULT_EVASION = EvasionSettings(
    eps=0.03, steps=60, rounds=2, deployed=True, mask_growth=1.0, ssim_floor=0.85, context=2.0
)
"""The evasion cloak ``against="detection"`` runs: every deployment geometry (stride phase,
scale, JPEG) of every available detector, judged by deface's own runtime (see the
``evasion-deployed`` section of ``BENCHMARKS.md``)."""


@dataclass(frozen=True)
class ProtectConfig:
    """Everything :func:`facecloak.protect.protect` needs to know.

    Attributes:
        against: ``recognition`` (the identity cloak), ``detection`` (hide faces from
            detectors) or ``both`` (the identity cloak, then the evasion cloak on top).
        method: an attack (``perceptual``, ``pgd``, ``ifgsm``, ``ifgvm``, ``pfgvm``) or an
            obfuscation (``blur``, ``pixelate``, ``mask``, ``swap``); ``None``: the preset's
            attack.
        strength: a preset name (``low``, ``mid``, ``high``) or a :class:`Strength`.
        faces: indices of the faces to protect (left to right); ``None``: all.
        largest: protect only the largest face.
        recognizers: the recognizers the identity cloak must beat at once (names or loaded
            recognizers); each counts in units of its own threshold. ``all`` (the default):
            every recognizer that can load here for the untargeted perceptual cloak (the
            ensemble transfers to recognizers it never saw), dlib's alone for a targeted or
            sign-gradient cloak (they take one recognizer).
        judges: the recognizers that report, per face, whether they still match it (``all``:
            every usable one; empty: no such report, which saves time).
        target: ``(K, D)`` embeddings of a target identity to look like (targeted cloak).
        robust: average gradients over the preset's post-release transforms.
        eps, steps, step_size, lam: override the preset (or, for ``detection``, the evasion).
        detector: the detector that finds the faces.
        evasion: the evasion cloak's settings (default :data:`DEFAULT_EVASION`).
        evade: the detectors the evasion cloak differentiates through (``None``: every one
            whose weights are installed, :func:`available_evasion_detectors`).
        classifier: cloak against this closed-set classifier instead of the recognizers.
        target_class: with ``classifier``, the class to be taken for.
        seed: random seed of the attack.
        donors: with ``method="swap"``, the folder of donor face photos.
        verify: measure each protected face with the recognizers (distances, ``judges``'
            verdicts, SSIMULACRA2). ``None``: yes for cloaks and swaps, no for ``blur``,
            ``pixelate`` and ``mask`` (the face is covered by construction; checking costs the
            recognizers' loading and seconds per face, most of a blur run).
        attributes: with ``method="replace"``, the new face's attributes (``random``, ``keep``
            or ``name=value,...``); the ``seed`` picks the random draw.
        replacer: with ``method="replace"``, the generator's weights (``None``: the committed
            ones).
        shape_mix: with ``method="replace"``, how far the new face's landmarks move from the
            person's own proportions (0 keeps them, 1: the mean of the nearest training shapes,
            2, the default: past it, the person's departures from it reversed; pose and
            expression kept throughout).
        candidates: with ``method="replace"``, new faces drawn per face; the first of the
            cloak's recognizers (dlib by default) keeps the one farthest from the original (1:
            the first draw, no search).
        then: ``"cloak"``: after ``replace`` or ``swap``, an identity cloak against every
            available recognizer, moving away from the original face (a no-match guarantee);
            a named ``strength`` goes farther there
            (:func:`~facecloak.protect.presets.after_replacement`).
    """

    against: str = "recognition"
    method: str | None = None
    strength: str | Strength = DEFAULT_STRENGTH
    faces: tuple[int, ...] | None = None
    largest: bool = False
    recognizers: tuple[Any, ...] = ("all",)
    judges: tuple[str, ...] = ("all",)
    target: Tensor | None = field(default=None, compare=False, repr=False)
    robust: bool = True
    eps: float | None = None
    steps: int | None = None
    step_size: float | None = None
    lam: float | None = None
    detector: str = DEFAULT_DETECTOR
    evasion: EvasionSettings | None = None
    evade: tuple[str, ...] | None = None
    classifier: nn.Module | None = field(default=None, compare=False, repr=False)
    target_class: str | None = None
    seed: int = 0
    donors: str | Path | None = None
    verify: bool | None = None
    attributes: str = "random"
    replacer: str | Path | None = None
    shape_mix: float = DEFAULT_SHAPE_MIX
    candidates: int = 8
    then: str | None = None

    def __post_init__(self) -> None:
        _choice("against", self.against, AGAINST)
        if self.method is not None and self.method not in VISIBLE_METHODS:
            _choice("method", self.method, attack_methods() + VISIBLE_METHODS)
        if isinstance(self.strength, str):
            _choice("strength", self.strength, tuple(PRESETS))
        _choice("detector", self.detector, tuple(DETECTORS))
        for name in self.evade or ():
            _choice("evade", name, EVASION_DETECTORS)
        _number("eps", self.eps, low=0.0, high=1.0)
        _number("step_size", self.step_size, low=0.0)
        _number("lam", self.lam, low=0.0, inclusive=True)
        if self.steps is not None and (not isinstance(self.steps, int) or self.steps < 1):
            raise InvalidOptionError(f"steps={self.steps!r} is out of range: give an integer >= 1")
        if self.faces is not None and any(i < 0 for i in self.faces):
            raise InvalidOptionError(f"faces={list(self.faces)} must be face numbers >= 0")
        self._check_combinations()

    @property
    def verifies(self) -> bool:
        """Whether the protected faces are measured with the recognizers (see ``verify``)."""
        if self.verify is not None:
            return self.verify
        return self.method not in COVERING_METHODS

    def _check_combinations(self) -> None:
        if self.target_class is not None and self.classifier is None:
            raise InvalidOptionError("target_class names a classifier's class: give a classifier")
        if not self.recognizers and self.classifier is None:
            raise InvalidOptionError("recognizers is empty: name at least one recognizer")
        self._check_donors()
        self._check_replace()
        if self.method in VISIBLE_METHODS and self.against != "recognition":
            raise InvalidOptionError(
                f"method={self.method} hides the face itself: use it with against=recognition"
            )
        if self.method in VISIBLE_METHODS and (self.target is not None or self.classifier):
            raise InvalidOptionError(f"method={self.method} takes no target and no classifier")
        attack = self.settings.attack
        if len(self.recognizers) > 1 and attack != "perceptual":
            raise InvalidOptionError(
                f"several recognizers need method=perceptual (the ensemble objective), "
                f"not method={attack}"
            )
        if len(self.recognizers) > 1 and self.target is not None and "all" not in self.recognizers:
            raise InvalidOptionError("an ensemble cloak is untargeted: drop target or recognizers")

    def _check_donors(self) -> None:
        if self.method == SWAP_METHOD and self.donors is None:
            raise InvalidOptionError(
                "method=swap needs donors: give a folder of photos of people who agreed to lend "
                "their face (or generated faces)"
            )
        if self.donors is not None and self.method != SWAP_METHOD:
            raise InvalidOptionError(f"donors apply to method=swap, not method={self.method}")
        if self.donors is not None and not Path(self.donors).is_dir():
            raise InvalidOptionError(
                f"donors={str(self.donors)!r} is not a folder; give a folder of face photos"
            )

    def _check_replace(self) -> None:
        from facecloak.replace.attributes import parse_choice

        own_options = (
            self.attributes != "random"
            or self.replacer
            or self.shape_mix != DEFAULT_SHAPE_MIX
            or self.candidates != ProtectConfig.candidates
        )
        if self.method != REPLACE_METHOD and own_options:
            raise InvalidOptionError(
                "attributes, replacer, shape_mix and candidates apply to method=replace, "
                f"not method={self.method}"
            )
        if not 0.0 <= self.shape_mix <= MAX_SHAPE_MIX:
            raise InvalidOptionError(
                f"shape_mix={self.shape_mix}: give a value from 0 to {MAX_SHAPE_MIX:g}"
            )
        if self.candidates < 1:
            raise InvalidOptionError(f"candidates={self.candidates}: give 1 or more")
        try:
            parse_choice(self.attributes)
        except ValueError as exc:
            raise InvalidOptionError(f"attributes={self.attributes!r}: {exc}") from None
        if self.then is not None:
            _choice("then", self.then, THEN)
            if self.method not in (REPLACE_METHOD, SWAP_METHOD):
                raise InvalidOptionError(
                    f"then={self.then} follows method=replace or swap, not method={self.method}"
                )
        if self.replacer is not None and not Path(self.replacer).is_file():
            raise InvalidOptionError(
                f"replacer={str(self.replacer)!r} is not a file; give a train-replacer checkpoint"
            )

    @property
    def settings(self) -> Strength:
        """The preset with the method and overrides applied (a named preset after a
        replacement: :func:`~facecloak.protect.presets.after_replacement`)."""
        named = not isinstance(self.strength, Strength)
        preset = PRESETS[self.strength] if named else self.strength
        if named and self.then == "cloak":
            preset = after_replacement(preset)
        if self.method is not None and self.method not in VISIBLE_METHODS:
            preset = replace(preset, attack=self.method)
        return preset.with_overrides(
            eps=self.eps, steps=self.steps, step_size=self.step_size, lam=self.lam
        )

    @property
    def cloak_recognizers(self) -> tuple[Any, ...]:
        """``recognizers`` with ``all`` made concrete (see the class docstring)."""
        if "all" not in self.recognizers:
            return self.recognizers
        single = self.settings.attack != "perceptual" or self.target is not None
        if single:
            return ("dlib",)
        from facecloak.recognition import resolve_recognizers

        return resolve_recognizers(self.recognizers)

    @property
    def evasion_settings(self) -> EvasionSettings:
        """The evasion cloak's settings (``eps``/``steps``/``step_size`` apply to it when it is
        the only stage)."""
        settings = self.evasion or replace(DEFAULT_EVASION, robust=self.robust, seed=self.seed)
        if self.against != "detection":
            return settings
        overrides = {"eps": self.eps, "steps": self.steps, "step_size": self.step_size}
        return replace(settings, **{k: v for k, v in overrides.items() if v is not None})

    @property
    def evasion_detectors(self) -> tuple[str, ...]:
        """The detectors the evasion cloak differentiates through."""
        return self.evade if self.evade is not None else available_evasion_detectors()

    @property
    def stages(self) -> tuple[str, ...]:
        """The stages :func:`~facecloak.protect.protect` runs, in order."""
        if self.method in VISIBLE_METHODS:
            return ("obfuscation", "identity") if self.then == "cloak" else ("obfuscation",)
        first = "classifier" if self.classifier is not None else "identity"
        return {
            "recognition": (first,),
            "detection": ("evasion",),
            "both": (first, "evasion"),
        }[self.against]


def attack_methods() -> tuple[str, ...]:
    """The attacks' names. Asked for only when a method is not a visible one: the attacks import
    torch, which a blur never needs."""
    from facecloak.attacks import ATTACKS

    return tuple(ATTACKS)


def __getattr__(name: str) -> Any:
    if name == "ATTACK_METHODS":  # kept for ``from facecloak.protect.config import ...``
        return attack_methods()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _choice(option: str, value: object, valid: Sequence[str]) -> None:
    if value not in valid:
        raise InvalidOptionError(f"{option}={value!r} is not known: choose from {', '.join(valid)}")


def _number(
    option: str, value: float | None, low: float, high: float = math.inf, inclusive: bool = False
) -> None:
    if value is None:
        return
    above = value >= low if inclusive else value > low
    if not (isinstance(value, int | float) and math.isfinite(value) and above and value <= high):
        bracket = "[" if inclusive else "("
        upper = "inf)" if high == math.inf else f"{high:g}]"
        raise InvalidOptionError(
            f"{option}={value!r} is out of range: give a number in {bracket}{low:g}, {upper}"
        )
