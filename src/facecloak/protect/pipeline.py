"""The photo pipeline: detect -> align from the original pixels -> attack -> write back.

The cloak is computed at the photo's own resolution, through a differentiable alignment, and lives
only inside each protected face's soft mask; every other pixel stays byte-identical.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import torch
from torch import nn

from facecloak.attacks import EmbeddingTargeted, EmbeddingUntargeted, make_attack
from facecloak.attacks.base import StepInfo
from facecloak.attacks.transforms import RandomJPEG, eot_transform
from facecloak.errors import NoFaceError
from facecloak.faces import Face
from facecloak.faces.align import extract_chips
from facecloak.faces.landmarks import predict_landmarks
from facecloak.faces.regions import FaceRegion, face_region
from facecloak.imaging import jpeg_roundtrip, to_tensor, to_uint8
from facecloak.models import DEFAULT_DETECTOR, detect
from facecloak.protect.classifier import ClassifiedFace, cloak_against_classifier
from facecloak.protect.evasion import (
    EvasionSettings,
    HiddenFace,
    hide_faces,
)
from facecloak.protect.outcomes import rounded_fields
from facecloak.protect.perceptual import (
    PerceptualOptions,
    coarse_shape,
    perceptual_cloak,
    scale_to_ssim_floor,
    ssim_constrained_ascent,
    texture_budget,
)
from facecloak.protect.presets import DEFAULT_STRENGTH, Strength, get_strength
from facecloak.quality import image_change

logger = logging.getLogger(__name__)

ATTACK_METHODS = ("pgd", "ifgsm", "ifgvm", "pfgvm")
AGAINST = ("recognition", "detection", "both")
DEFAULT_EVASION = EvasionSettings(eps=0.03, steps=40, robust=True)
"""The evasion cloak ``protect(..., against="detection")`` runs (see ``BENCHMARKS.md``)."""


class ChipEmbedder(nn.Module):
    """Crop of a photo -> the face's embedding, through the differentiable alignment.

    With ``transform`` (post-release transforms on the chip), every call draws a new random
    transform: expectation over transformations happens by averaging several calls' gradients.
    """

    def __init__(
        self,
        recognizer: nn.Module,
        chip_to_crop: np.ndarray,
        transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        super().__init__()
        self.recognizer = recognizer
        self.chip_to_crop = np.asarray(chip_to_crop)[None]
        self.size = int(recognizer.input_size)
        self.transform = transform

    def forward(self, crop: torch.Tensor) -> torch.Tensor:
        chips = extract_chips(crop, self.chip_to_crop, size=self.size)
        if self.transform is not None:
            chips = self.transform(chips)
        return self.recognizer(chips)


class ArcFaceEmbedder(nn.Module):
    """Crop -> unit-length embedding of an ArcFace-aligned recognizer (e.g. MobileFaceNet),
    through a differentiable similarity warp of the face's five points onto the template."""

    def __init__(self, recognizer: nn.Module, points_in_crop: np.ndarray) -> None:
        super().__init__()
        from facecloak.faces.align_arcface import (
            arcface_template,
            invert_affine,
            similarity_transform,
        )

        self.recognizer = recognizer
        size = int(recognizer.input_size)
        self.size = size
        self.chip_to_crop = invert_affine(
            similarity_transform(np.asarray(points_in_crop), arcface_template(size))
        )

    def forward(self, crop: torch.Tensor) -> torch.Tensor:
        from facecloak.faces.align_arcface import sample_chip

        return self.recognizer.embed_normalized(sample_chip(crop, self.chip_to_crop, self.size))


@dataclass
class _Judge:
    """One recognizer the cloak must beat: its embedder on the crop, the clean embedding, its
    distance and threshold."""

    embed: nn.Module
    clean: torch.Tensor
    distance: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    threshold: float


@dataclass
class FaceOutcome:
    """What protecting one face did (distances: to the clean face's embedding)."""

    index: int
    box: tuple[float, float, float, float]
    distance: float
    distance_jpeg75: float
    threshold: float
    ssim: float
    psnr: float
    l2: float
    linf: float
    steps: int
    cloak_scale: float
    seconds: float

    @property
    def protected(self) -> bool:
        return self.distance >= self.threshold

    def to_dict(self) -> dict:
        return {
            **rounded_fields(self),
            "protected_after_jpeg75": self.distance_jpeg75 >= self.threshold,
        }


@dataclass
class ProtectResult:
    """The protected photo and a report per protected face."""

    image: np.ndarray
    original: np.ndarray
    faces: list[Face]
    outcomes: list[FaceOutcome]
    method: str
    settings: dict = field(default_factory=dict)
    seconds: float = 0.0
    hidden: list[HiddenFace] = field(default_factory=list)
    """Per face hidden from detectors (``against`` detection or both)."""
    classified: list[ClassifiedFace] = field(default_factory=list)
    """Per face cloaked against a classifier (``classifier=``)."""

    def to_dict(self) -> dict:
        return {
            "method": self.method,
            "settings": self.settings,
            "faces_found": len(self.faces),
            "faces_protected": [o.to_dict() for o in self.outcomes],
            **({"faces_hidden": [h.to_dict() for h in self.hidden]} if self.hidden else {}),
            **(
                {"faces_classified": [c.to_dict() for c in self.classified]}
                if self.classified
                else {}
            ),
            "seconds": round(self.seconds, 3),
        }


def protect(
    image: np.ndarray,
    *,
    method: str = "pgd",
    strength: str | Strength = DEFAULT_STRENGTH,
    faces: Sequence[int] | None = None,
    largest: bool = False,
    target: torch.Tensor | None = None,
    robust: bool = True,
    eps: float | None = None,
    steps: int | None = None,
    step_size: float | None = None,
    lam: float | None = None,
    detector: str = DEFAULT_DETECTOR,
    recognizer: nn.Module | None = None,
    detected: list[Face] | None = None,
    progress: Callable[[int, int], None] | None = None,
    seed: int = 0,
    against: str = "recognition",
    ensemble: Sequence[nn.Module] = (),
    classifier: nn.Module | None = None,
    target_class: str | None = None,
    evasion: EvasionSettings | None = None,
    evasion_detectors: Sequence[str] = ("centerface",),
) -> ProtectResult:
    """Cloak the faces of a ``(H, W, 3)`` uint8 photo against face recognition, face detection
    or both.

    Args:
        image: the photo.
        method: ``pgd``, ``ifgsm``, ``ifgvm`` or ``pfgvm`` (see :mod:`facecloak.attacks`); or a
            classical ``blur``, ``pixelate``, ``mask`` (see :mod:`facecloak.obfuscate`). With
            ``pgd`` and a preset whose ``optimizer`` is ``perceptual`` (all built-in presets),
            the SSIM-aware optimiser of :mod:`facecloak.protect.perceptual` runs instead of
            sign-gradient PGD.
        strength: a preset name (``low``, ``mid``, ``high``) or a :class:`Strength`.
        faces: indices (left to right, as :func:`facecloak.models.detect` orders them) of the faces
            to protect; default all.
        largest: protect only the largest face.
        target: ``(K, 128)`` embeddings of a target identity to look like (targeted cloak);
            ``None`` pushes away from the person's own face (untargeted).
        robust: average gradients over the preset's random post-release transforms (its
            ``eot``: JPEG / resize / blur / shift) so the cloak survives re-encoding. The built-in
            presets use ``eot="none"``: their margin measured more robust to JPEG than EOT.
        eps, steps, step_size, lam: override the preset.
        detected: faces already detected on ``image`` (skips detection).
        progress: called as ``progress(done_steps, total_steps)``.
        ensemble: more recognizers the identity cloak must beat at the same time (ArcFace-
            aligned ones with ``embed_normalized``, ``distance`` and ``distance_threshold``,
            e.g. :func:`facecloak.models.mobilefacenet.load_mobilefacenet`); each counts in units
            of its own threshold. Untargeted ``pgd`` with a perceptual preset only.
        classifier: cloak against this closed-set identity classifier instead of the
            recognizer (:func:`facecloak.classify.load_classifier`; see
            :mod:`facecloak.protect.classifier`), away from its answer on the clean face or,
            with ``target_class``, toward that class.
        target_class: a class name of ``classifier``.
        against: ``recognition`` (the identity cloak), ``detection`` (hide the faces from face
            detectors: :mod:`facecloak.protect.evasion`) or ``both`` (the identity cloak, then
            the evasion cloak on top; their budgets add up).
        evasion: settings of the evasion cloak (default :data:`DEFAULT_EVASION`, with ``robust``
            from above). With ``against="detection"``, ``eps``, ``steps`` and ``step_size``
            override it; with ``both`` they apply to the identity cloak.
        evasion_detectors: the detectors the evasion cloak differentiates through.

    Raises:
        NoFaceError: no face was found (or none of the requested indices exist).

    Example:
        >>> from facecloak.data import grace_hopper
        >>> result = protect(grace_hopper(), strength="low")  # doctest: +SKIP
        >>> result.outcomes[0].protected  # doctest: +SKIP
        True
    """
    started = time.perf_counter()
    settings = strength if isinstance(strength, Strength) else get_strength(strength)
    settings = settings.with_overrides(eps=eps, steps=steps, step_size=step_size, lam=lam)
    if against not in AGAINST:
        raise ValueError(f"against must be one of {', '.join(AGAINST)}, got {against!r}")
    all_faces = detected if detected is not None else detect(image, detector=detector)
    chosen = select_faces(all_faces, faces, largest)
    if classifier is not None:
        return _cloak_against_classifier(
            image, all_faces, chosen, classifier, settings, target_class, progress, started
        )
    if target_class is not None:
        raise ValueError("target_class names a classifier's class: pass classifier too")
    if against != "recognition":
        hiding = evasion or replace(DEFAULT_EVASION, robust=robust)
        if against == "detection":
            overrides = {"eps": eps, "steps": steps, "step_size": step_size}
            hiding = replace(hiding, **{k: v for k, v in overrides.items() if v is not None})
            return _hide(image, image, all_faces, chosen, hiding, evasion_detectors, progress)
        cloaked = protect(
            image,
            method=method,
            strength=settings,
            faces=chosen,
            target=target,
            robust=robust,
            recognizer=recognizer,
            detected=all_faces,
            progress=progress,
            seed=seed,
            ensemble=ensemble,
        )
        hidden = _hide(image, cloaked.image, all_faces, chosen, hiding, evasion_detectors, None)
        cloaked.image, cloaked.hidden = hidden.image, hidden.hidden
        cloaked.settings["evasion"] = hidden.settings
        cloaked.seconds = time.perf_counter() - started
        return cloaked
    if method in CLASSICAL_METHODS:
        return _protect_classically(image, all_faces, chosen, method, started)
    if method not in ATTACK_METHODS:
        raise ValueError(
            f"unknown method {method!r}; choose from "
            f"{', '.join(ATTACK_METHODS + tuple(CLASSICAL_METHODS))}"
        )
    recognizer = recognizer or _default_recognizer()
    torch.manual_seed(seed)
    photo = to_tensor(image)[None]
    outcomes = []
    ticker = _Ticker(progress, settings.steps * len(chosen))
    for index in chosen:
        face_started = time.perf_counter()
        region = face_region(all_faces[index], *image.shape[:2], size=recognizer.input_size)
        extra = [_arcface_judge(m, image, all_faces[index], photo, region) for m in ensemble]
        crop, cloaked, steps_taken = _cloak_region(
            photo, region, recognizer, method, settings, target, robust, ticker, extra
        )
        scale = _scale_to_ssim_floor(crop, cloaked, region, settings.ssim_floor)
        _write_back(photo, region, crop + scale * (cloaked - crop))
        outcomes.append(
            _OutcomeDraft(index, region, steps_taken, scale, time.perf_counter() - face_started)
        )
    protected = to_uint8(photo[0])
    reports = [_measure(d, image, protected, recognizer) for d in outcomes]
    return ProtectResult(
        image=protected,
        original=image,
        faces=all_faces,
        outcomes=reports,
        method=method,
        settings={
            "strength": settings.name,
            "eps": settings.eps,
            "steps": settings.steps,
            "step_size": settings.step_size,
            "ssim_floor": settings.ssim_floor,
            "margin": settings.margin,
            "optimizer": settings.optimizer if method == "pgd" else "sign",
            "robust": robust,
            **({"eot": settings.eot} if robust else {}),
            "targeted": target is not None,
            **({"lam": settings.lam} if method == "pfgvm" else {}),
        },
        seconds=time.perf_counter() - started,
    )


def _cloak_against_classifier(
    image: np.ndarray,
    faces: list[Face],
    chosen: list[int],
    classifier: nn.Module,
    settings: Strength,
    target_class: str | None,
    progress: Callable[[int, int], None] | None,
    started: float,
) -> ProtectResult:
    protected, classified = cloak_against_classifier(
        image, faces, chosen, classifier, settings, target_class, progress
    )
    return ProtectResult(
        image=protected,
        original=image,
        faces=faces,
        outcomes=[],
        method="pgd",
        settings={
            "strength": settings.name,
            "eps": settings.eps,
            "steps": settings.steps,
            "ssim_floor": settings.ssim_floor,
            "classifier": getattr(classifier, "arch", type(classifier).__name__),
            "target_class": target_class,
        },
        seconds=time.perf_counter() - started,
        classified=classified,
    )


def _hide(
    original: np.ndarray,
    image: np.ndarray,
    faces: list[Face],
    chosen: list[int],
    settings: EvasionSettings,
    detectors: Sequence[str],
    progress: Callable[[int, int], None] | None,
) -> ProtectResult:
    """Hide ``chosen`` faces of ``image`` from ``detectors`` (the evasion cloak)."""
    started = time.perf_counter()
    hidden_image, hidden = hide_faces(image, faces, chosen, settings, detectors, progress)
    return ProtectResult(
        image=hidden_image,
        original=original,
        faces=faces,
        outcomes=[],
        method="evasion",
        settings={**asdict(settings), "detectors": list(detectors)},
        seconds=time.perf_counter() - started,
        hidden=hidden,
    )


def select_faces(faces: list[Face], indices: Sequence[int] | None, largest: bool) -> list[int]:
    """Indices of the faces to protect; raises :class:`NoFaceError` when there are none."""
    if not faces:
        raise NoFaceError("no face found")
    if largest:
        return [max(range(len(faces)), key=lambda i: faces[i].area)]
    if indices is None:
        return list(range(len(faces)))
    missing = [i for i in indices if not 0 <= i < len(faces)]
    if missing:
        raise NoFaceError(f"no face number {missing} (found {len(faces)}: 0..{len(faces) - 1})")
    return sorted(set(indices))


def _cloak_region(
    photo: torch.Tensor,
    region: FaceRegion,
    recognizer: nn.Module,
    method: str,
    settings: Strength,
    target: torch.Tensor | None,
    robust: bool,
    ticker: _Ticker,
    extra: Sequence[_Judge] = (),
) -> tuple[torch.Tensor, torch.Tensor, int]:
    crop = region.take(photo)
    clean_model = ChipEmbedder(recognizer, region.chip_to_crop)
    with torch.no_grad():
        clean_embedding = clean_model(crop)
    transform = _robustness_transform(settings.eot) if robust else None
    model = ChipEmbedder(recognizer, region.chip_to_crop, transform)
    threshold = float(recognizer.threshold)
    if method == "pgd" and settings.optimizer == "perceptual":
        return _cloak_perceptually(
            crop, region, model, clean_embedding, target, settings, threshold, ticker, extra
        )
    if extra:
        raise ValueError("an ensemble needs method='pgd' with a perceptual preset")
    if target is None:
        objective = EmbeddingUntargeted(threshold, settings.margin, anchor=clean_embedding)
    else:
        objective = EmbeddingTargeted(target, threshold, settings.margin)
    kwargs = {
        "steps": settings.steps,
        "step_size": settings.step_size,
        "mask": region.mask,
        "early_stop": True,
        "eot_samples": settings.eot_samples if robust else 1,
        "callback": ticker.step,
    }
    if method in ("pgd", "ifgsm") or (method in ("ifgvm", "pfgvm") and settings.eps):
        kwargs["eps"] = settings.eps
    if method == "pfgvm":
        kwargs["lam"] = settings.lam
    attack = make_attack(method, model, objective, **kwargs)
    result = attack.run(crop)
    ticker.finish_face(settings.steps)
    return crop, result.adversarial, int(result.steps[0])


def _robustness_transform(kind: str) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """Random post-release transforms on the chip: ``mixed`` (JPEG / resize / blur / shift, each
    half the time), ``jpeg`` (differentiable JPEG at quality 60-90 on every call) or ``none``
    (robustness from the margin alone: on the perceptual optimiser, EOT measured worse)."""
    if kind == "none":
        return None
    if kind == "jpeg":
        return RandomJPEG((60.0, 90.0))
    if kind == "mixed":
        return eot_transform(
            jpeg_quality=(60.0, 95.0), resize_scale=(0.5, 1.0), blur_sigma=(0.3, 0.8), max_shift=1.0
        )
    raise ValueError(f"unknown robustness transform {kind!r}; choose mixed, jpeg or none")


def _cloak_perceptually(
    crop: torch.Tensor,
    region: FaceRegion,
    model: ChipEmbedder,
    clean_embedding: torch.Tensor,
    target: torch.Tensor | None,
    settings: Strength,
    threshold: float,
    ticker: _Ticker,
    extra: Sequence[_Judge] = (),
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """A cloak with the SSIM floor inside the loss (see :mod:`.perceptual`): away from the clean
    face, or toward the centroid of ``target``'s embeddings. With ``extra`` recognizers
    (untargeted only), away from the clean face in every recognizer at once."""
    budget = region.mask
    if settings.texture_floor is not None:
        budget = texture_budget(crop, region.mask, floor=settings.texture_floor)
    options = PerceptualOptions(
        eps=settings.eps,
        steps=settings.steps,
        step_size=settings.step_size,
        ssim_target=min(settings.ssim_floor + settings.ssim_slack, 0.9999),
        goal=threshold + settings.margin if target is None else threshold - settings.margin,
        ssim_weight=settings.ssim_weight,
        toward=target is not None,
    )
    reference = clean_embedding if target is None else target.mean(0, keepdim=True)
    grid = (
        coarse_shape(crop, region.chip_to_crop, settings.min_spacing) if settings.coarse else None
    )
    box = _box_in_crop(region)
    callback = lambda step: ticker.step(_progress_info(step, settings.steps))  # noqa: E731
    if extra:
        if target is not None:
            raise ValueError("an ensemble cloak is untargeted; drop the target or the ensemble")
        judges = [_Judge(model, clean_embedding, _euclidean, threshold), *extra]
        score, goal = _ensemble_score(judges, 1.0 + settings.margin / threshold)
        result = ssim_constrained_ascent(
            crop, score, goal, budget, box, options, grid=grid, callback=callback
        )
    else:
        result = perceptual_cloak(
            crop,
            model,
            reference.to(crop.dtype),
            budget,
            box,
            options,
            grid=grid,
            callback=callback,
        )
        steps_run = result.steps
        for _ in range(settings.retries):
            if _reached(result.distance, options):
                break
            # A hard face: another round of steps from where the last one ended.
            more = perceptual_cloak(
                crop,
                model,
                reference.to(crop.dtype),
                budget,
                box,
                options,
                grid=grid,
                start=result.latent,
            )
            steps_run += more.steps
            if _reached(more.distance, options) or _closer(more.distance, result.distance, options):
                result = more
        result = replace(result, steps=steps_run)
    ticker.finish_face(settings.steps)
    return crop, result.cloaked, result.steps


def _reached(distance: float, options: PerceptualOptions) -> bool:
    return distance <= options.goal if options.toward else distance >= options.goal


def _closer(new: float, old: float, options: PerceptualOptions) -> bool:
    return new < old if options.toward else new > old


def _ensemble_score(
    judges: Sequence[_Judge], goal_ratio: float
) -> tuple[Callable[[torch.Tensor], torch.Tensor], float]:
    """Sum over recognizers of distance / threshold, each capped at ``goal_ratio`` (so one
    recognizer far past its goal cannot hide another still short of it); the goal is every
    recognizer at its cap."""

    def score(cloaked: torch.Tensor) -> torch.Tensor:
        total = cloaked.new_zeros(())
        for judge in judges:
            ratio = judge.distance(judge.embed(cloaked), judge.clean).mean() / judge.threshold
            total = total + ratio.clamp(max=goal_ratio)
        return total

    return score, goal_ratio * len(judges) - 1e-6


def _euclidean(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.linalg.vector_norm(a - b, dim=-1)


def _arcface_judge(
    recognizer: nn.Module, image: np.ndarray, face: Face, photo: torch.Tensor, region: FaceRegion
) -> _Judge:
    """An ArcFace-aligned recognizer as seen on ``region``'s crop of ``photo``."""
    from facecloak.faces.align_arcface import arcface_points

    points = arcface_points(image, face) - np.asarray(region.crop[:2], dtype=np.float64)
    embed = ArcFaceEmbedder(recognizer, points)
    with torch.no_grad():
        clean = embed(region.take(photo))
    return _Judge(embed, clean, recognizer.distance, float(recognizer.distance_threshold))


def _progress_info(step: int, total: int) -> StepInfo:
    empty = torch.zeros(1)
    return StepInfo(step, total, empty, empty.bool(), empty.bool())


def _scale_to_ssim_floor(
    crop: torch.Tensor, cloaked: torch.Tensor, region: FaceRegion, floor: float
) -> float:
    """The largest share of the cloak that keeps the face region's SSIM >= floor."""
    return scale_to_ssim_floor(crop, cloaked, [_box_in_crop(region)], floor)


def _box_in_crop(region: FaceRegion) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = region.face_box
    return (x0 - region.crop[0], y0 - region.crop[1], x1 - region.crop[0], y1 - region.crop[1])


def _write_back(photo: torch.Tensor, region: FaceRegion, crop: torch.Tensor) -> None:
    x0, y0, x1, y1 = region.crop
    photo[..., y0:y1, x0:x1] = crop


@dataclass
class _OutcomeDraft:
    index: int
    region: FaceRegion
    steps: int
    scale: float
    seconds: float


def _measure(
    draft: _OutcomeDraft, original: np.ndarray, protected: np.ndarray, recognizer: nn.Module
) -> FaceOutcome:
    """Distances as a recognizer would see them: landmarks found again on the protected photo."""
    face = draft.region.face
    clean = _embed_with_fresh_landmarks(original, face, recognizer)
    after = _embed_with_fresh_landmarks(protected, face, recognizer)
    after_jpeg = _embed_with_fresh_landmarks(jpeg_roundtrip(protected, 75), face, recognizer)
    change = image_change(original, protected, box=draft.region.face_box)
    return FaceOutcome(
        index=draft.index,
        box=face.box,
        distance=float(torch.dist(clean, after)),
        distance_jpeg75=float(torch.dist(clean, after_jpeg)),
        threshold=float(recognizer.threshold),
        ssim=change.ssim,
        psnr=change.psnr,
        l2=change.l2,
        linf=change.linf,
        steps=draft.steps,
        cloak_scale=draft.scale,
        seconds=draft.seconds,
    )


def _embed_with_fresh_landmarks(rgb: np.ndarray, face: Face, recognizer: nn.Module) -> torch.Tensor:
    fresh = Face(face.box, face.score, landmarks=predict_landmarks(rgb, face.box))
    with torch.no_grad():
        return recognizer.embed(rgb, fresh)


class _Ticker:
    """Turns per-step attack callbacks into overall progress over all faces."""

    def __init__(self, progress: Callable[[int, int], None] | None, total: int) -> None:
        self.progress = progress
        self.total = total
        self.done_before = 0

    def step(self, info: StepInfo) -> None:
        if self.progress is not None:
            self.progress(self.done_before + info.step, self.total)

    def finish_face(self, steps: int) -> None:
        self.done_before += steps
        if self.progress is not None:
            self.progress(self.done_before, self.total)


def _default_recognizer() -> nn.Module:
    from facecloak.recognition import default_recognizer

    return default_recognizer()


def _protect_classically(
    image: np.ndarray, all_faces: list[Face], chosen: list[int], method: str, started: float
) -> ProtectResult:
    from facecloak.obfuscate import obfuscate_faces

    protected = obfuscate_faces(image, [all_faces[i] for i in chosen], method)
    recognizer = _default_recognizer()
    reports = []
    for index in chosen:
        region = face_region(all_faces[index], *image.shape[:2], size=recognizer.input_size)
        draft = _OutcomeDraft(index, region, 0, 1.0, 0.0)
        reports.append(_measure(draft, image, protected, recognizer))
    return ProtectResult(
        image=protected,
        original=image,
        faces=all_faces,
        outcomes=reports,
        method=method,
        seconds=time.perf_counter() - started,
    )


CLASSICAL_METHODS = ("blur", "pixelate", "mask")
