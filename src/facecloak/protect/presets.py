"""Named protection strengths: budget, steps and quality floor, chosen by measurement.

The numbers come from ``benchmarks/transfer.py`` (leave-one-recognizer-out on LFW and deepface)
and ``benchmarks/cloak_tuning.py``: every preset runs the SSIM-aware optimiser
(:mod:`facecloak.attacks.perceptual`) with a brightness-only perturbation. ``mid`` is the
default. Expectation over transformations is off (``eot="none"``): it cost 5x the time for a few
points of transfer.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from facecloak.errors import InvalidOptionError

if TYPE_CHECKING:
    from facecloak.attacks import Perceptual


DECOYS = ("samples", "replaced")
"""Whom a cloak with ``pull`` moves a face toward (:mod:`facecloak.protect.decoys`)."""


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
        attack: the attack (a name of :data:`facecloak.attacks.ATTACKS`): ``perceptual`` (the
            SSIM-aware optimiser) or a sign / gradient-value attack (``pgd``, ``ifgsm``, ...).
        objective: what the attack lowers: ``embedding`` (away from the clean embedding, or
            toward a target; with several recognizers, each in threshold units, capped).
        ssim_weight: perceptual: initial weight of the SSIM hinge (grown by dual ascent).
        ssim_slack: perceptual: the hinge aims this far above ``ssim_floor``.
        texture_floor: perceptual: per-pixel budget ``mask * clamp(local_std / median, floor,
            1)``; ``None`` uses the mask alone.
        coarse: perceptual: the cloak lives on the recognizer chip's pixel grid.
        min_spacing: perceptual, with ``coarse``: at least this many photo pixels per grid cell.
        eot: post-release transforms when ``robust``: ``mixed``, ``jpeg`` or ``none``.
        retries: perceptual: extra rounds of ``steps`` (from where the last ended) for a face
            whose cloak has not reached its goal.
        chroma_share: perceptual: the share of ``eps`` each chroma channel (opponent colour
            space) may use; 1 is plain RGB, 0 brightness only.
        ssim_at_view: the SSIM floor holds on the face as the recognizer sees it (shrunk to its
            chip's scale), not only at full size, where a smooth change on a large face costs
            almost no SSIM yet shows.
        ssim_shrink: the SSIM floor is measured on the face shrunk this many times (area
            average; 1: full size): a crease shows there, a fine texture averages out.
        s2_floor: perceptual: the face box's SSIMULACRA2 never drops below this (the optimiser
            aims ``s2_slack`` points above; the cloak is scaled down if it still falls short).
        pull: an ensemble cloak also pulls the face toward a decoy (another person) with this
            weight (:mod:`facecloak.protect.decoys`; 0: away from the face only).
        decoy: with ``pull``: ``samples`` (a bundled public-domain face) or ``replaced`` (the
            face replaced by the committed generator).
        members_per_step: an ensemble cloak runs this many of its recognizers on each step,
            drawn at random, the others standing at their last output
            (:class:`~facecloak.models.fanout.Fanout`); ``None``: every one on every step, as
            a warm-started cloak (a video's face continued from the last frame) always does.
        s2_fine_every: perceptual, with ``s2_floor``: the SSIMULACRA2 floor's finest scales,
            where a cloak on the chip's grid costs little of the score, are computed on every
            that-many-th step only (most of the metric's cost on a large face).
        large_face_members: an ensemble cloak of a face at least :data:`LARGE_FACE_SPACING`
            times larger in the photo than the recognizers see it draws this many recognizers
            per step instead of ``members_per_step`` (``None``: the same count). There the
            full-size SSIMULACRA2 floor binds and its hinge is about 40% of a step.
        align_jitter: each attack step moves every recognizer's alignment by a random
            similarity this large (scale and rotation in radians as a share, shift as a share
            of the chip): the cloak must not rest on one exact chip. No preset uses it: 3-10%
            moved transfer by a face or two of 20 (BENCHMARKS.md ``transfer-jitter``).
        worst_case_temperature: an ensemble cloak maximises the soft minimum of its
            recognizers' capped distance ratios at this temperature (``None``: their sum), so
            the change goes to the recognizer farthest from its goal.
        large_face_sum: on a large face (as for ``large_face_members``) the sum instead of
            the soft minimum: there the SSIMULACRA2 floor binds before any recognizer moves
            far, the soft minimum gave no transfer (BENCHMARKS.md
            ``transfer-deepface62-softmin``) and spent the budget on the recognizer that cannot
            be beaten, leaving the easy ones unbeaten too.
    """

    name: str
    eps: float
    steps: int
    step_size: float
    ssim_floor: float
    margin: float
    eot_samples: int = 1
    lam: float = 30.0
    attack: str = "pgd"
    objective: str = "embedding"
    ssim_weight: float = 20.0
    ssim_slack: float = 0.002
    texture_floor: float | None = None
    coarse: bool = False
    min_spacing: float = 1.0
    eot: str = "mixed"
    retries: int = 0
    chroma_share: float = 1.0
    ssim_at_view: bool = False
    ssim_shrink: float = 1.0
    s2_floor: float | None = None
    pull: float = 0.0
    decoy: str = "samples"
    members_per_step: int | None = None
    s2_fine_every: int = 1
    large_face_members: int | None = None
    align_jitter: float = 0.0
    worst_case_temperature: float | None = None
    large_face_sum: bool = False

    def __post_init__(self) -> None:
        if self.decoy not in DECOYS:
            raise InvalidOptionError(
                f"decoy={self.decoy!r} is not known: choose from {', '.join(DECOYS)}"
            )
        for field in ("members_per_step", "large_face_members"):
            count = getattr(self, field)
            if count is not None and count < 1:
                raise InvalidOptionError(f"{field}={count}: give 1 or more, or None for all")
        if self.ssim_shrink < 1:
            raise InvalidOptionError(f"ssim_shrink={self.ssim_shrink}: give 1 (full size) or more")
        if self.align_jitter < 0:
            raise InvalidOptionError(f"align_jitter={self.align_jitter}: give 0 (none) or more")
        temperature = self.worst_case_temperature
        if temperature is not None and temperature <= 0:
            raise InvalidOptionError(
                f"worst_case_temperature={temperature}: give a positive value, or None for the sum"
            )
        if self.s2_fine_every < 1:
            raise InvalidOptionError(
                f"s2_fine_every={self.s2_fine_every}: give 1 (every step) or more"
            )

    def members_for(self, spacing: float) -> int | None:
        """Recognizers an ensemble cloak draws per step for a face ``spacing`` times larger in
        the photo than on the recognizers' chips (``None``: every one).

        >>> PRESETS["mid"].members_for(0.8), PRESETS["mid"].members_for(3.0)
        (2, 1)
        """
        if self.large_face_members is not None and spacing >= LARGE_FACE_SPACING:
            return self.large_face_members
        return self.members_per_step

    def temperature_for(self, spacing: float) -> float | None:
        """The ensemble's soft-minimum temperature for a face ``spacing`` times larger in the
        photo than on the recognizers' chips (``None``: the sum).

        >>> PRESETS["mid"].temperature_for(0.8), PRESETS["mid"].temperature_for(3.0)
        (0.05, None)
        """
        if self.large_face_sum and spacing >= LARGE_FACE_SPACING:
            return None
        return self.worst_case_temperature

    def perceptual_attack(self, model: Any, objective: Any, **options: Any) -> Perceptual:
        """The perceptual attack with this preset's budget, steps and SSIM hinge (aiming
        ``ssim_slack`` above the floor, since rounding to 8 bits costs some)."""
        from facecloak.attacks import Perceptual  # torch: only cloaks import it, not every config

        return Perceptual(
            model,
            objective,
            eps=self.eps,
            steps=self.steps,
            step_size=self.step_size,
            ssim_target=min(self.ssim_floor + self.ssim_slack, 0.9999),
            ssim_weight=self.ssim_weight,
            chroma_share=self.chroma_share,
            s2_target=None if self.s2_floor is None else self.s2_floor + S2_SLACK,
            s2_fine_every=self.s2_fine_every,
            **options,
        )

    def with_overrides(self, **overrides: float | int | None) -> Strength:
        """A copy with every non-``None`` override applied."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


LARGE_FACE_SPACING = 1.5
"""A face this many times larger in the photo than on the recognizers' chips is large: LFW's
faces are 0.7-0.8, deepface's 0.9-10.6 (``Strength.large_face_members``)."""

SOFTMIN_TEMPERATURE = 0.05
"""``mid``'s and ``high``'s ``worst_case_temperature``: on 20 LFW faces, each of the two hardest
left-out recognizers judging, 0.01 / 0.02 / 0.05 / 0.2 gave 40 / 40 / 55 / 50% on the worst of
them after JPEG q75, the capped sum 25% (BENCHMARKS.md ``transfer-jitter``)."""

_SOFTMIN_ON_SMALL_FACES: dict[str, Any] = {
    "worst_case_temperature": SOFTMIN_TEMPERATURE,
    "large_face_sum": True,
}
"""The ensemble's soft minimum on faces smaller than :data:`LARGE_FACE_SPACING`, the sum on
larger ones (``mid`` and ``high``)."""

S2_SLACK = 2.0
"""Points above ``s2_floor`` the optimiser aims for: rounding to 8 bits costs a little."""


def _perceptual(
    name: str,
    eps: float,
    steps: int,
    floors: tuple[float, float],
    margin: float,
    **fields: Any,
) -> Strength:
    """A preset on the SSIM-aware optimiser: coarse grid, no EOT, brightness only
    (``chroma_share=0``: people and SSIMULACRA2 see colour change long before brightness change;
    see the ``transfer`` section of BENCHMARKS.md), two recognizers drawn per step (the same
    transfer or more in 0.72-0.75x the time on LFW, 0.80-0.83x on large photos: BENCHMARKS.md
    ``transfer-members``, ``transfer-presets-members``), the SSIMULACRA2 floor's finest scales
    computed on every third step (``s2-fine-scales``); ``floors``: the face's SSIM and
    SSIMULACRA2 floors; ``fields``: any other :class:`Strength` field."""
    ssim_floor, s2_floor = floors
    return Strength(
        name,
        eps=eps,
        steps=steps,
        step_size=1.5 / 255,
        ssim_floor=ssim_floor,
        margin=margin,
        attack="perceptual",
        coarse=True,
        eot="none",
        retries=1,
        chroma_share=0.0,
        s2_floor=s2_floor,
        members_per_step=2,
        s2_fine_every=3,
        **fields,
    )


PRESETS: dict[str, Strength] = {
    # Chosen by benchmarks/transfer.py (cloak against four recognizers, judge with the fifth,
    # after JPEG q75): brightness-only cloaks reach the same transfer as RGB ones at a far
    # higher face SSIMULACRA2. Each keeps the face's SSIMULACRA2 above a floor, which binds on
    # large smooth faces (where SSIM lets visible blotches through). low: white-box protection
    # only, visually lossless (S2 >= 80).
    "low": _perceptual("low", eps=12 / 255, steps=35, floors=(0.98, 80.0), margin=0.3),
    # The default: some transfer to unseen recognizers while the face stays high quality (>= 70).
    # On large faces one recognizer per step (BENCHMARKS.md ``transfer-deepface62-members1``);
    # elsewhere the soft minimum of the recognizers' ratios, not their sum
    # (``transfer-jitter``, ``transfer-lfw100``).
    "mid": _perceptual(
        "mid",
        eps=16 / 255,
        steps=40,
        floors=(0.95, 70.0),
        margin=0.5,
        large_face_members=1,
        **_SOFTMIN_ON_SMALL_FACES,
    ),
    # The most transfer, at a face of medium quality at worst (S2 >= 50); two recognizers per
    # step on large faces too (one cost it protection: ``transfer-deepface62-high-large1``);
    # the soft minimum as the default takes it (``transfer-lfw100-high-softmin``).
    "high": _perceptual(
        "high",
        eps=32 / 255,
        steps=40,
        floors=(0.85, 50.0),
        margin=1.0,
        **_SOFTMIN_ON_SMALL_FACES,
    ),
}
DEFAULT_STRENGTH = "mid"


AFTER_REPLACEMENT_MARGIN = 1.5


def after_replacement(preset: Strength) -> Strength:
    """``preset`` as the cloak that follows a replacement (``then="cloak"``) runs it: farther
    from the original face (margin at least :data:`AFTER_REPLACEMENT_MARGIN`, past which no
    face gets in 40 steps, so every recognizer is pushed as far as the visibility floor lets),
    with every recognizer on every step (it must reach all of them, not transfer), on the
    capped sum of their ratios (the aggregate its table in BENCHMARKS.md was measured with).

    The replaced face must not match the person's *other* photos, which the cloak never sees;
    moving just past the threshold from the one photo it has is not enough for a weak recognizer
    such as adi_faceid, whose photos of one person can lie far apart. With mid's margin (0.5)
    adi_faceid still matched 3 of LFW's 100 replaced faces to another photo of the person, with
    this margin 1 (``benchmarks/replacement.py``, BENCHMARKS.md "replacement"). A pull toward a
    decoy (``pull``) gave nothing on LFW's 100 and cost one of the 48 people the generator never
    saw: on a dark photo adi_faceid found the decoy's direction close to the person's other
    photos.

    >>> cloak = after_replacement(PRESETS["mid"])
    >>> cloak.margin, cloak.pull, cloak.s2_floor == PRESETS["mid"].s2_floor
    (1.5, 0.0, True)
    >>> cloak.members_per_step is None, cloak.large_face_members is None
    (True, True)
    >>> cloak.worst_case_temperature is None
    True
    """
    margin = max(preset.margin, AFTER_REPLACEMENT_MARGIN)
    return replace(
        preset,
        margin=margin,
        members_per_step=None,
        large_face_members=None,
        worst_case_temperature=None,
    )


def get_strength(name: str) -> Strength:
    """The preset called ``name`` (``low``, ``mid`` or ``high``)."""
    if name not in PRESETS:
        raise InvalidOptionError(
            f"strength={name!r} is not known: choose from {', '.join(PRESETS)}"
        )
    return PRESETS[name]
