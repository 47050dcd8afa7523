"""Cloak faces against a closed-set identity classifier (``facecloak train``'s models).

The classifier takes the same dlib-aligned 150x150 chips as the recognizer, so the cloak goes
through the same differentiable alignment from the photo's own pixels. The optimiser is the
perceptual attack of :mod:`facecloak.attacks.perceptual` on a logit-margin objective
(:mod:`facecloak.attacks.classifier_objectives`):

- untargeted: ``max_{j != y} z_j - z_y`` (``y``: the class the clean face gets), until the best
  other class leads by ``margin`` logits;
- targeted: ``z_t - max_{j != t} z_j``, until the target leads by ``margin``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import torch
from torch import Tensor, nn

from facecloak.attacks import ClassifierTargeted, ClassifierUntargeted, StepInfo
from facecloak.attacks.perceptual import scale_to_ssim_floor
from facecloak.faces import Face
from facecloak.faces.align import extract_chips, face_chips
from facecloak.faces.landmarks import predict_landmarks
from facecloak.faces.regions import FaceRegion, face_region
from facecloak.imaging import jpeg75, to_batch, to_uint8
from facecloak.protect.outcomes import ClassifiedFace
from facecloak.protect.presets import Strength
from facecloak.quality import image_change

LOGIT_MARGIN = 2.0
"""How far (in logits) the wrong / target class must lead before a face counts as cloaked."""


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
    target_index = classifier.class_index(target) if target else None
    photo = to_batch(image)
    total = settings.steps * len(chosen)
    drafts = []
    for done, index in enumerate(chosen):
        started = time.perf_counter()
        region = face_region(faces[index], *image.shape[:2], size=int(classifier.input_size))
        callback = _progress(progress, done * settings.steps, total)
        steps = _cloak_face(photo, region, classifier, settings, target_index, callback)
        drafts.append((index, region, steps, time.perf_counter() - started))
    protected = to_uint8(photo)[0]
    jpeg = jpeg75(protected)
    reports = [_report(image, protected, jpeg, classifier, target, *draft) for draft in drafts]
    return protected, reports


def _cloak_face(
    photo: Tensor,
    region: FaceRegion,
    classifier: nn.Module,
    settings: Strength,
    target_index: int | None,
    callback: Callable[[StepInfo], None] | None,
) -> int:
    """Cloak one face of ``photo`` in place; the steps it took."""
    crop = region.take(photo)
    model = _ChipClassifier(classifier, region.chip_to_crop)
    with torch.no_grad():
        clean_class = int(model(crop).argmax(1))
    box = _box_in_crop(region.face_box, region.crop)
    objective = (
        ClassifierTargeted(target_index, margin=LOGIT_MARGIN)
        if target_index is not None
        else ClassifierUntargeted(clean_class, margin=LOGIT_MARGIN)
    )
    # The closed-set classifier cloak reproduces the published SSIM-budgeted setups: the
    # presets' SSIMULACRA2 floor belongs to the identity cloak and is left out here.
    plain = replace(settings, s2_floor=None)
    attack = plain.perceptual_attack(model, objective, callback=callback)
    result = attack.run(crop, mask=region.mask, boxes=[box])
    scale = scale_to_ssim_floor(crop, result.adversarial, [box], settings.ssim_floor)
    x0, y0, x1, y1 = region.crop
    photo[..., y0:y1, x0:x1] = crop + scale * (result.adversarial - crop)
    return int(result.steps[0])


def _report(
    image: np.ndarray,
    protected: np.ndarray,
    jpeg: np.ndarray,
    classifier: nn.Module,
    target: str | None,
    index: int,
    region: FaceRegion,
    steps: int,
    seconds: float,
) -> ClassifiedFace:
    """The classes a recognizer would now give the face, and how much its box changed."""
    names = list(classifier.class_names)
    face = region.face
    change = image_change(image, protected, box=region.face_box)
    return ClassifiedFace(
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


class _ChipClassifier(nn.Module):
    """Crop of a photo -> the classifier's logits on the face's dlib-aligned chip."""

    def __init__(self, classifier: nn.Module, chip_to_crop: np.ndarray) -> None:
        super().__init__()
        self.classifier = classifier
        self.chip_to_crop = np.asarray(chip_to_crop)[None]
        self.size = int(classifier.input_size)

    def forward(self, crop: Tensor) -> Tensor:
        return self.classifier(extract_chips(crop, self.chip_to_crop, size=self.size))


def _progress(
    progress: Callable[[int, int], None] | None, done: int, total: int
) -> Callable[[StepInfo], None] | None:
    if progress is None:
        return None
    return lambda info: progress(done + info.step, total)


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
