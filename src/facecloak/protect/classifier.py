"""Cloak faces against a closed-set identity classifier (``facecloak train``'s models).

The classifier takes the same dlib-aligned 150x150 chips as the recognizer, so the cloak goes
through the same differentiable alignment from the photo's own pixels. The optimiser is the
SSIM-constrained one of :mod:`facecloak.protect.perceptual`, raising a logit margin:

- untargeted: ``max_{j != y} z_j - z_y`` (``y``: the class the clean face gets), until the best
  other class leads by ``margin`` logits;
- targeted: ``z_t - max_{j != t} z_j``, until the target leads by ``margin``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from facecloak.faces import Face
from facecloak.faces.align import face_chips
from facecloak.faces.landmarks import predict_landmarks
from facecloak.faces.regions import face_region
from facecloak.imaging import jpeg_roundtrip, to_tensor, to_uint8
from facecloak.protect.outcomes import rounded_fields
from facecloak.protect.perceptual import (
    PerceptualOptions,
    scale_to_ssim_floor,
    ssim_constrained_ascent,
)
from facecloak.protect.presets import Strength
from facecloak.quality import image_change

LOGIT_MARGIN = 2.0
"""How far (in logits) the wrong / target class must lead before a face counts as cloaked."""


@dataclass
class ClassifiedFace:
    """What cloaking one face against a classifier did: its top class before and after (after
    JPEG q75 too), the target if any, quality and effort."""

    index: int
    box: tuple[float, float, float, float]
    before: str
    after: str
    after_jpeg75: str
    target: str | None
    ssim: float
    psnr: float
    l2: float
    linf: float
    steps: int
    seconds: float

    @property
    def protected(self) -> bool:
        return self.after == self.target if self.target else self.after != self.before

    def to_dict(self) -> dict:
        return rounded_fields(self)


def cloak_against_classifier(
    image: np.ndarray,
    faces: list[Face],
    chosen: list[int],
    classifier: nn.Module,
    settings: Strength,
    target: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, list[ClassifiedFace]]:
    """Cloak ``faces[i]`` (``i`` in ``chosen``) against ``classifier`` (see
    :func:`facecloak.classify.load_classifier`): away from its clean answer, or toward the class
    called ``target``."""
    from facecloak.protect.pipeline import ChipEmbedder

    target_index = classifier.class_index(target) if target else None
    photo = to_tensor(image)[None]
    total = settings.steps * len(chosen)
    drafts = []
    for done, index in enumerate(chosen):
        started = time.perf_counter()
        region = face_region(faces[index], *image.shape[:2], size=int(classifier.input_size))
        crop = region.take(photo)
        model = ChipEmbedder(classifier, region.chip_to_crop)
        with torch.no_grad():
            clean_class = int(model(crop).argmax(1))
        box = _box_in_crop(region.face_box, region.crop)
        options = PerceptualOptions(
            eps=settings.eps,
            steps=settings.steps,
            step_size=settings.step_size,
            ssim_target=min(settings.ssim_floor + settings.ssim_slack, 0.9999),
            goal=LOGIT_MARGIN,
        )
        result = ssim_constrained_ascent(
            crop,
            _margin_score(model, clean_class, target_index),
            LOGIT_MARGIN,
            region.mask,
            box,
            options,
            callback=None
            if progress is None
            else lambda step, d=done: progress(d * settings.steps + step, total),
        )
        scale = scale_to_ssim_floor(crop, result.cloaked, [box], settings.ssim_floor)
        x0, y0, x1, y1 = region.crop
        photo[..., y0:y1, x0:x1] = crop + scale * (result.cloaked - crop)
        drafts.append((index, region, result.steps, time.perf_counter() - started))
    protected = to_uint8(photo[0])
    jpeg = jpeg_roundtrip(protected, 75)
    names = list(classifier.class_names)
    reports = []
    for index, region, steps, seconds in drafts:
        face = region.face
        change = image_change(image, protected, box=region.face_box)
        reports.append(
            ClassifiedFace(
                index=index,
                box=face.box,
                before=names[_top_class(image, face, classifier)],
                after=names[_top_class(protected, face, classifier)],
                after_jpeg75=names[_top_class(jpeg, face, classifier)],
                target=target,
                ssim=change.ssim,
                psnr=change.psnr,
                l2=change.l2,
                linf=change.linf,
                steps=steps,
                seconds=seconds,
            )
        )
    return protected, reports


def _margin_score(
    model: nn.Module, clean_class: int, target_index: int | None
) -> Callable[[Tensor], Tensor]:
    def score(cloaked: Tensor) -> Tensor:
        logits = model(cloaked)[0]
        wanted = target_index if target_index is not None else clean_class
        others = torch.cat([logits[:wanted], logits[wanted + 1 :]])
        lead = logits[wanted] - others.max()
        return lead if target_index is not None else -lead

    return score


def _top_class(rgb: np.ndarray, face: Face, classifier: nn.Module) -> int:
    """The class a recognizer would give the face, with landmarks found anew on ``rgb``."""
    fresh = Face(face.box, face.score, landmarks=predict_landmarks(rgb, face.box))
    chips = face_chips(rgb, [fresh], size=int(classifier.input_size))
    with torch.no_grad():
        return int(classifier(chips).argmax(1)[0])


def _box_in_crop(
    box: tuple[int, int, int, int], crop: tuple[int, int, int, int]
) -> tuple[int, int, int, int]:
    return (box[0] - crop[0], box[1] - crop[1], box[2] - crop[0], box[3] - crop[1])
