"""The names the options accept, read from the registries (never listed by hand here)."""

from __future__ import annotations

from collections.abc import Iterable

DEFAULT_METHOD = "perceptual"
"""The identity cloak's attack when ``--method`` is not given."""
DEFAULT_RECOGNIZER = "dlib"
"""The recognizer every identity cloak attacks (:func:`facecloak.recognition.default_recognizer`);
the others can be added with ``--ensemble`` / ``--check-with``."""


def detectors() -> list[str]:
    """Every face detector (:data:`facecloak.models.detectors.DETECTORS`)."""
    from facecloak.models.detectors import DETECTORS

    return sorted(DETECTORS)


def evasion_detectors() -> list[str]:
    """The detectors the evasion cloak can differentiate through."""
    from facecloak.protect.evasion import EVASION_DETECTORS

    return list(EVASION_DETECTORS)


def extra_recognizers() -> list[str]:
    """Recognizers a cloak or an evaluation can add to the default one."""
    from facecloak.models.recognizers import known_recognizers

    return [name for name in known_recognizers() if name != DEFAULT_RECOGNIZER]


def unavailable_recognizers(names: Iterable[str]) -> dict[str, str]:
    """Why each of ``names`` cannot load here (weights absent...), as the registry says."""
    from facecloak.models import recognizers

    reasons = recognizers.available_recognizers()
    return {name: reasons[name] for name in names if reasons.get(name)}


def attack_methods() -> list[str]:
    """The adversarial attacks (:data:`facecloak.attacks.ATTACKS`)."""
    from facecloak.attacks import ATTACKS

    return list(ATTACKS)


def obfuscations() -> list[str]:
    """The visible obfuscations (:data:`facecloak.obfuscate.OBFUSCATIONS`)."""
    from facecloak.obfuscate import OBFUSCATIONS

    return list(OBFUSCATIONS)


def replacements() -> list[str]:
    """Methods that paste another face (``swap`` needs ``--donors``)."""
    from facecloak.protect.config import SWAP_METHOD

    return [SWAP_METHOD]


def methods() -> list[str]:
    """Everything ``--method`` accepts: the attacks, the obfuscations, the replacements."""
    return attack_methods() + obfuscations() + replacements()


def strengths() -> list[str]:
    """The cloak presets (:data:`facecloak.protect.presets.PRESETS`)."""
    from facecloak.protect.presets import PRESETS

    return list(PRESETS)


def default_strength() -> str:
    from facecloak.protect.presets import DEFAULT_STRENGTH

    return DEFAULT_STRENGTH


def against() -> list[str]:
    """What a protection can be against (:data:`facecloak.protect.AGAINST`)."""
    from facecloak.protect import AGAINST

    return list(AGAINST)


def architectures() -> list[str]:
    """Identity classifier architectures ``facecloak train`` can build."""
    from facecloak.models.classifiers import ARCHITECTURES

    return list(ARCHITECTURES)


def image_suffixes() -> list[str]:
    """Suffixes of the image files facecloak reads and writes."""
    from facecloak.images import IMAGE_SUFFIXES

    return list(IMAGE_SUFFIXES)
