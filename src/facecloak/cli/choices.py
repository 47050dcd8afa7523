"""The names the options accept, read from the registries (never listed by hand here).

Registries whose package imports torch (the attacks, the presets, the protect options) are read
lazily (:class:`LazyNames`, :class:`LazyText`): building the parser costs nothing, and checking
``--method blur`` asks the obfuscations only, so a blur run never imports torch.
"""

from __future__ import annotations

from collections import UserString
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import cached_property


class LazyNames(Sequence[str]):
    """The names of ``sources`` (each a function returning names), read when first needed.

    ``name in names`` asks the sources in ``probe`` order (default: as given) and stops at the
    first that has it; iterating lists every source in order. Give it to argparse with a
    ``metavar`` (argparse would otherwise list the choices while the parser is built) and
    ``%(choices)s`` in the help.

    >>> names = LazyNames(lambda: ["a", "b"], lambda: ["c"])
    >>> "c" in names, list(names), len(names)
    (True, ['a', 'b', 'c'], 3)
    """

    def __init__(
        self,
        *sources: Callable[[], Iterable[str]],
        probe: Sequence[Callable[[], Iterable[str]]] | None = None,
    ) -> None:
        self._sources = sources
        self._probe = sources if probe is None else probe

    @cached_property
    def _names(self) -> list[str]:
        return [name for source in self._sources for name in source()]

    def __contains__(self, name: object) -> bool:
        return any(name in source() for source in self._probe)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __getitem__(self, index):  # type: ignore[override]
        return self._names[index]


class LazyText(UserString):
    """A help text made by ``make()`` when argparse first formats it (not when the parser is
    built), for help that names a registry's default."""

    def __init__(self, make: Callable[[], str] | str) -> None:  # no super(): data is computed
        self._make = make  # UserString's methods make new ones from a str

    @cached_property
    def data(self) -> str:  # type: ignore[override]
        return self._make if isinstance(self._make, str) else self._make()

    def __mod__(self, args: object) -> str:  # type: ignore[override]
        return self.data % args


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
    """The detectors the evasion cloak can differentiate through
    (:data:`facecloak.protect.evasion.EVASION_DETECTORS`, read from the detector registry)."""
    from facecloak.models.detectors import differentiable_detectors

    return list(differentiable_detectors())


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
    """Methods that paste another face (``swap`` needs ``--donors``; ``replace`` generates it)."""
    from facecloak.protect.config import REPLACE_METHOD, SWAP_METHOD

    return [SWAP_METHOD, REPLACE_METHOD]


def methods() -> LazyNames:
    """Everything ``--method`` accepts: the attacks, the obfuscations, the replacements (the
    obfuscations asked first, so a blur run imports nothing heavy)."""
    return LazyNames(
        attack_methods,
        obfuscations,
        replacements,
        probe=(obfuscations, replacements, attack_methods),
    )


def strengths() -> LazyNames:
    """The cloak presets (:data:`facecloak.protect.presets.PRESETS`)."""
    return LazyNames(_presets)


def _presets() -> list[str]:
    from facecloak.protect.presets import PRESETS

    return list(PRESETS)


def default_strength() -> str:
    from facecloak.protect.presets import DEFAULT_STRENGTH

    return DEFAULT_STRENGTH


def against() -> LazyNames:
    """What a protection can be against (:data:`facecloak.protect.AGAINST`)."""
    return LazyNames(_against)


def _against() -> list[str]:
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
