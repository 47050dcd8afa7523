"""Does protection work on a labelled set of photos? What a recognizer and a person would see.

For every photo (its largest face) the protected copy is checked three ways, each on the photo as
published, after JPEG q75 re-encoding and after a 0.5x downscale, with detection and alignment run
anew as a real recognizer would:

- **verification**: the protected face is at least the threshold away from the clean face;
- **identification**: the nearest face in a gallery of the *other* clean photos of every identity
  is not the person (rank-1 miss);
- **quality**: L2, PSNR, SSIM, MS-SSIM of the face region and of the whole photo.

Example:
    >>> report = evaluate_protection("faces/", strength="mid")  # doctest: +SKIP
    >>> report.summary()["verification_protected"]["clean"]  # doctest: +SKIP
    1.0
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from facecloak.datasets import LabelledPhoto, read_labelled_folder
from facecloak.evaluate.gallery import clean_embeddings, evaluate_each
from facecloak.evaluate.grids import face_grid
from facecloak.evaluate.identification import rank1_hits
from facecloak.evaluate.report_markdown import protection_markdown, write_report_files
from facecloak.faces import Face
from facecloak.images import load_image
from facecloak.imaging import jpeg75
from facecloak.models import DEFAULT_DETECTOR, detect, largest_face, load_recognizer
from facecloak.models.recognizer import Recognizer
from facecloak.protect.presets import Strength
from facecloak.quality import image_change, ssimulacra2_score

logger = logging.getLogger(__name__)

VARIANTS = ("clean", "jpeg75", "resize50")


def resize50(rgb: np.ndarray) -> np.ndarray:
    image = Image.fromarray(rgb)
    size = (max(1, image.width // 2), max(1, image.height // 2))
    return np.asarray(image.resize(size, Image.Resampling.LANCZOS))


VARIANT_TRANSFORMS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "clean": lambda rgb: rgb,
    "jpeg75": jpeg75,
    "resize50": resize50,
}


@dataclass
class PhotoEvaluation:
    """One photo: embeddings seen after protection per variant, quality, time."""

    photo: LabelledPhoto
    clean_embedding: torch.Tensor
    protected_embeddings: dict[str, torch.Tensor | None]
    face_quality: dict
    photo_quality: dict
    seconds: float
    protected_image: np.ndarray | None = field(default=None, repr=False)
    original_image: np.ndarray | None = field(default=None, repr=False)
    face_box: tuple[float, float, float, float] | None = None
    other_embeddings: dict[str, dict[str, torch.Tensor | None]] = field(default_factory=dict)
    """Per extra recognizer (see :class:`Judge`), what it sees per variant."""


@dataclass(frozen=True)
class Judge:
    """A second recognizer that checks the protection (any registered one, e.g. MobileFaceNet).
    ``attacked``: it was in the cloak's ensemble (white-box), else transfer."""

    name: str
    model: Recognizer
    attacked: bool

    @property
    def threshold(self) -> float:
        return float(self.model.threshold)

    def embed(self, rgb: np.ndarray, face: Face) -> torch.Tensor:
        return self.model.embed(rgb, [face])[0]

    def distance(self, a: torch.Tensor, b: torch.Tensor) -> float:
        return float(self.model.distance(a, b))


def load_judges(names: Sequence[str], attacked: bool) -> list[Judge]:
    """Extra recognizers by registered name; raises ``ModelNotFoundError`` when their weights
    are absent and ``UnknownRecognizerError`` for a name nobody registered."""
    return [Judge(name, load_recognizer(name), attacked) for name in names]


@dataclass
class ProtectionReport:
    """Every photo's evaluation plus the verdicts, ready for JSON and Markdown."""

    method: str
    strength: str
    threshold: float
    photos: list[PhotoEvaluation]
    skipped: list[str]
    verification: dict[str, list[bool]]
    identification: dict[str, list[bool]]
    others: dict[str, dict] = field(default_factory=dict)
    """Per extra recognizer: ``role`` and its verification / identification flags."""
    failed: list[str] = field(default_factory=list)
    """``path: reason`` of each photo that could not be read or protected (left out, counted)."""

    def summary(self) -> dict:
        def share(flags: list[bool]) -> float:
            return sum(flags) / len(flags) if flags else 0.0

        def mean(key: str, where: str) -> float:
            values = [getattr(p, where)[key] for p in self.photos if getattr(p, where)[key]]
            return float(np.mean(values)) if values else float("nan")

        return {
            "photos_failed": len(self.failed),
            "failed": list(self.failed),
            "method": self.method,
            "strength": self.strength,
            "photos": len(self.photos),
            "skipped_no_face": len(self.skipped),
            "verification_protected": {v: share(f) for v, f in self.verification.items()},
            "identification_miss_rate": {v: share(f) for v, f in self.identification.items()},
            "face_ssim_mean": mean("ssim", "face_quality"),
            "face_ssim_min": min(
                (p.face_quality["ssim"] for p in self.photos), default=float("nan")
            ),
            "face_psnr_mean": mean("psnr", "face_quality"),
            "face_ssimulacra2_mean": mean("ssimulacra2", "face_quality"),
            "face_l2_mean": mean("l2", "face_quality"),
            "face_ms_ssim_mean": mean("ms_ssim", "face_quality"),
            "photo_ssim_mean": mean("ssim", "photo_quality"),
            "photo_ms_ssim_mean": mean("ms_ssim", "photo_quality"),
            "seconds_per_face": float(np.mean([p.seconds for p in self.photos]))
            if self.photos
            else float("nan"),
            "other_recognizers": {
                name: {
                    "role": other["role"],
                    "verification_protected": {
                        v: share(f) for v, f in other["verification"].items()
                    },
                    "identification_miss_rate": {
                        v: share(f) for v, f in other["identification"].items()
                    },
                }
                for name, other in self.others.items()
            },
        }


def evaluate_protection(
    folder: str | Path | list[LabelledPhoto],
    *,
    method: str = "perceptual",
    strength: str | Strength = "mid",
    robust: bool = True,
    detector: str = DEFAULT_DETECTOR,
    limit: int | None = None,
    keep_images: int = 4,
    judges: Sequence[Judge] = (),
) -> ProtectionReport:
    """Protect every labelled photo of ``folder`` (or the given photos) and measure what a
    recognizer still finds; the gallery is the other clean photos of the same set.

    ``judges`` are extra recognizers that check the result too; those marked ``attacked`` join
    the cloak's ensemble (white-box), the others measure transfer.
    """
    from facecloak.recognition import default_recognizer

    recognizer = default_recognizer()
    photos = list(folder) if isinstance(folder, list) else read_labelled_folder(folder)
    if limit:
        photos = photos[:limit]
    clean, skipped, failed = clean_embeddings(photos, detector, recognizer)
    judge_clean = _judges_clean(judges, clean)
    evaluate_one = partial(
        _evaluate_photo,
        method=method,
        strength=strength,
        robust=robust,
        detector=detector,
        recognizer=recognizer,
        judges=judges,
    )
    evaluations = evaluate_each(clean, evaluate_one, keep_images, failed, f"{method}/{strength}")
    verification, identification = _verdicts(
        evaluations,
        {p: e for p, (e, _) in clean.items()},
        float(recognizer.threshold),
        lambda e: e.protected_embeddings,
        lambda a, b: float(recognizer.distance(a, b)),
    )
    others = {
        judge.name: _judge_verdicts(judge, evaluations, judge_clean[judge.name]) for judge in judges
    }
    name = strength if isinstance(strength, str) else strength.name
    return ProtectionReport(
        method,
        name,
        float(recognizer.threshold),
        evaluations,
        [str(p.path) for p in skipped],
        verification,
        identification,
        others,
        failed,
    )


def _judges_clean(judges: Sequence[Judge], clean: dict) -> dict:
    """Judge name -> photo -> that judge's embedding of the photo's clean face."""
    return {
        judge.name: {
            photo: judge.embed(load_image(photo.path), face) for photo, (_, face) in clean.items()
        }
        for judge in judges
    }


def _judge_verdicts(
    judge: Judge, evaluations: list[PhotoEvaluation], clean: dict[LabelledPhoto, torch.Tensor]
) -> dict:
    """An extra recognizer's role and its verification / identification flags per variant."""
    verification, identification = _verdicts(
        evaluations,
        clean,
        judge.threshold,
        lambda e: e.other_embeddings[judge.name],
        judge.distance,
    )
    role = "ensemble (white-box)" if judge.attacked else "transfer"
    return {"role": role, "verification": verification, "identification": identification}


def _evaluate_photo(
    photo: LabelledPhoto,
    face: Face,
    embedding: torch.Tensor,
    method: str,
    strength: str | Strength,
    robust: bool,
    detector: str,
    recognizer: torch.nn.Module,
    keep_image: bool,
    judges: Sequence[Judge] = (),
) -> PhotoEvaluation:
    from facecloak.protect import ProtectConfig, protect
    from facecloak.recognition import embed_faces

    rgb = load_image(photo.path)
    started = time.perf_counter()
    attacked = (recognizer, *[judge.model for judge in judges if judge.attacked])
    config = ProtectConfig(method=method, strength=strength, robust=robust, recognizers=attacked)
    result = protect(rgb, config, detected=[face])
    seconds = time.perf_counter() - started
    seen: dict[str, torch.Tensor | None] = {}
    others: dict[str, dict[str, torch.Tensor | None]] = {j.name: {} for j in judges}
    for variant in VARIANTS:
        # Detect and align anew, as a scraper would; a face nobody finds stays None.
        published = VARIANT_TRANSFORMS[variant](result.image)
        found = largest_face(detect(published, detector=detector))
        seen[variant] = None if found is None else embed_faces(published, [found], recognizer)[0]
        for judge in judges:
            others[judge.name][variant] = None if found is None else judge.embed(published, found)
    box = tuple(round(v) for v in face.box)
    return PhotoEvaluation(
        photo=photo,
        clean_embedding=embedding,
        protected_embeddings=seen,
        face_quality={
            **image_change(rgb, result.image, box=box, multiscale=True).to_dict(),
            "ssimulacra2": ssimulacra2_score(rgb, result.image, box=box),
        },
        photo_quality=image_change(rgb, result.image, multiscale=True).to_dict(),
        seconds=seconds,
        protected_image=result.image if keep_image else None,
        original_image=rgb if keep_image else None,
        face_box=face.box,
        other_embeddings=others,
    )


def _verdicts(
    evaluations: list[PhotoEvaluation],
    clean: dict[LabelledPhoto, torch.Tensor],
    threshold: float,
    seen_of: Callable[[PhotoEvaluation], dict[str, torch.Tensor | None]],
    distance: Callable[[torch.Tensor, torch.Tensor], float],
) -> tuple[dict[str, list[bool]], dict[str, list[bool]]]:
    """Per variant, whether each protected face no longer verifies (``distance >= threshold``)
    and whether rank-1 identification misses it. Gallery search is Euclidean: for unit-length
    embeddings that ranks as cosine does."""
    verification: dict[str, list[bool]] = {v: [] for v in VARIANTS}
    identification: dict[str, list[bool]] = {"unprotected": [], **{v: [] for v in VARIANTS}}
    photos = list(clean)
    gallery_all = torch.stack([clean[p] for p in photos]) if photos else torch.empty(0, 128)
    for evaluation in evaluations:
        own = clean[evaluation.photo]
        others = [i for i, p in enumerate(photos) if p != evaluation.photo]
        gallery = gallery_all[others]
        names = [photos[i].identity for i in others]
        has_gallery_match = evaluation.photo.identity in names
        if has_gallery_match:
            baseline = rank1_hits(own[None], [evaluation.photo.identity], gallery, names)[0]
            identification["unprotected"].append(not baseline)
        for variant, seen in seen_of(evaluation).items():
            if seen is None:  # a face nobody finds is a face nobody recognizes
                verification[variant].append(True)
                if has_gallery_match:
                    identification[variant].append(True)
                continue
            verification[variant].append(distance(seen, own) >= threshold)
            if has_gallery_match:
                hit = rank1_hits(seen[None], [evaluation.photo.identity], gallery, names)[0]
                identification[variant].append(not hit)
    return verification, identification


def write_report(report: ProtectionReport, outdir: str | Path) -> dict[str, Path]:
    """Write ``report.json``, ``report.md`` and ``grid.png`` (before / after / 10x difference)."""
    summary = report.summary()
    rows = [
        {
            "photo": str(p.photo.path),
            "identity": p.photo.identity,
            "seconds": round(p.seconds, 3),
            "face": p.face_quality,
            "photo_quality": p.photo_quality,
            "distance": {
                v: (None if e is None else round(float(torch.dist(e, p.clean_embedding)), 4))
                for v, e in p.protected_embeddings.items()
            },
        }
        for p in report.photos
    ]
    grid = face_grid(
        [
            (p.original_image, p.protected_image, p.face_box)
            for p in report.photos
            if p.protected_image is not None and p.face_box is not None
        ]
    )
    return write_report_files(
        outdir,
        {"summary": summary, "photos": rows, "skipped_no_face": report.skipped},
        grid,
        lambda grid_name: protection_markdown(summary, grid_name),
    )
