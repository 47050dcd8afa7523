"""Named protection strengths: budget, steps and quality floor, chosen by measurement.

The numbers come from ``benchmarks/protection.py`` (see BENCHMARKS.md): ``mid`` is the default,
the best protection per unit of visible change on real photos, not the strongest.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Strength:
    """Attack settings for one preset.

    Attributes:
        eps: L-inf budget on [0, 1] pixels.
        steps: maximum attack steps.
        step_size: PGD/I-FGSM step on [0, 1] pixels (FGVM: RMS change per step).
        ssim_floor: the face region's SSIM never drops below this (the cloak is scaled down).
        margin: distance beyond the recognizer's threshold before a face counts as protected.
        eot_samples: random post-release transforms averaged per step when robust.
        lam: P-FGVM's pull toward the original.
    """

    name: str
    eps: float
    steps: int
    step_size: float
    ssim_floor: float
    margin: float
    eot_samples: int = 1
    lam: float = 30.0

    def with_overrides(self, **overrides: float | int | None) -> Strength:
        """A copy with every non-``None`` override applied."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


PRESETS: dict[str, Strength] = {
    "low": Strength("low", eps=3 / 255, steps=20, step_size=1 / 255, ssim_floor=0.99, margin=0.15),
    "mid": Strength("mid", eps=4 / 255, steps=30, step_size=1 / 255, ssim_floor=0.98, margin=0.3),
    "high": Strength(
        "high", eps=8 / 255, steps=40, step_size=1.5 / 255, ssim_floor=0.95, margin=0.5
    ),
}
DEFAULT_STRENGTH = "mid"


def get_strength(name: str) -> Strength:
    """The preset called ``name`` (``low``, ``mid`` or ``high``)."""
    if name not in PRESETS:
        raise ValueError(f"unknown strength {name!r}; choose from {', '.join(PRESETS)}")
    return PRESETS[name]
