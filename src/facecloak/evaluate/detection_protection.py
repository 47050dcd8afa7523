"""Does protection hide faces from face detectors? Detection before and after, clean and JPEG q75.

Each photo is protected once by a *protector* (any callable ``rgb -> protected rgb`` or
``rgb -> ProtectResult``), then every detector of a list looks at four images:

- ``original``: the photo as it was;
- ``original_jpeg75``: the photo re-encoded as JPEG quality 75 (what a host alone does to it);
- ``protected``: the protected photo as published;
- ``protected_jpeg75``: the protected photo re-encoded as JPEG quality 75.

Per detector and image it reports:

- **detection rate**: of the faces *this detector* finds on the original photo (its reference
  faces), the share it still finds on the image seen, a reference face counting as found when one
  detection overlaps it with IoU >= 0.5 (greedy one-to-one matching, best score first). It is
  pooled over faces (found reference faces / all reference faces, not a mean of per-photo rates),
  it needs no labels, it is 1.0 on ``original`` by construction, and it is ``None`` when the
  detector found no face at all on the originals. New detections elsewhere do not raise it.
- **AP, recall, precision at IoU 0.5** against hand-labelled boxes, over the labelled photos only
  (a labelled photo with no box is a photo known to hold no face: every detection on it is a false
  positive; an unlabelled photo never enters these numbers);
- faces found, and seconds per photo for the detector.

Per photo it also measures the protection's time and its change to each face region (SSIM, PSNR
and the rest of :func:`facecloak.quality.image_change` over each face box padded by 10%
on every side): the labelled boxes where there are labels, else the faces the protector reports
(``ProtectResult.faces``), else the first detector's faces on the original.

Detectors the protection was computed against are *white-box*; the others measure *transfer*.

The parts: :mod:`~facecloak.evaluate.detection_photos` (reading),
:mod:`~facecloak.evaluate.protectors`, :mod:`~facecloak.evaluate.detection_metrics` (measuring),
:mod:`~facecloak.evaluate.report_markdown` and :mod:`~facecloak.evaluate.grids` (rendering).

Example:
    >>> photos = photos_from_folder("dlib_faces/")  # doctest: +SKIP
    >>> blur = classical_protector("blur")
    >>> report = evaluate_detection_protection(photos, blur)  # doctest: +SKIP
    >>> report.summary()["detectors"]["centerface"]["protected"]["detection_rate"]  # doctest: +SKIP
    0.0
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from facecloak.errors import FacecloakError, ModelNotFoundError
from facecloak.evaluate.detection_metrics import (
    DEFAULT_IOU,
    IMAGES,
    ORIGINAL_IMAGES,
    Detections,
    DetectorRun,
    PhotoResult,
    detector_summary,
    face_regions,
    mean_or_none,
    pad_box,
    region_change,
)
from facecloak.evaluate.detection_photos import DetectionPhoto, photos_from_folder
from facecloak.evaluate.grids import detection_grid
from facecloak.evaluate.protectors import (
    Protector,
    as_protector,
    classical_protector,
    cloak_protector,
)
from facecloak.evaluate.report_markdown import detection_markdown, write_report_files
from facecloak.faces.face import Face
from facecloak.images import load_image
from facecloak.imaging import jpeg75

__all__ = [
    "DEFAULT_DETECTORS",
    "IMAGES",
    "DetectionPhoto",
    "DetectionProtectionReport",
    "Protector",
    "as_protector",
    "classical_protector",
    "cloak_protector",
    "detect_originals",
    "evaluate_detection_protection",
    "face_regions",
    "load_detectors",
    "pad_box",
    "photos_from_folder",
    "run_detectors",
]

logger = logging.getLogger(__name__)

DEFAULT_DETECTORS = ("centerface", "hog", "cnn", "haar", "ultralight", "yunet", "retinaface")
"""Every detector the evaluation knows of; unregistered or uninstalled ones are skipped."""

_WARM_UP = np.full((64, 64, 3), 128, np.uint8)


def load_detectors(
    names: Sequence[str], *, skip_unknown: bool = False
) -> tuple[dict[str, Callable[[np.ndarray], list[Face]]], dict[str, str]]:
    """The detectors that can run, and ``{name: reason}`` for those skipped.

    Each detector runs once on a small grey image first, so a model that is not installed
    (:class:`ModelNotFoundError`, or a missing Python package) is found here, and skipped with a
    logged warning. An unknown name is an error, unless ``skip_unknown`` (for default lists that
    name detectors a version may not have).
    """
    from facecloak.models.detectors import DETECTORS, get_detector

    available: dict[str, Callable[[np.ndarray], list[Face]]] = {}
    skipped: dict[str, str] = {}
    for name in dict.fromkeys(names):
        if name not in DETECTORS:
            if not skip_unknown:
                raise FacecloakError(
                    f"unknown detector {name!r}; choose from {', '.join(sorted(DETECTORS))}"
                )
            skipped[name] = "not in this version of facecloak"
            logger.info("detector %s skipped: not in this version of facecloak", name)
            continue
        try:
            detector = get_detector(name)
            detector(_WARM_UP)  # loads lazily-loaded models now, and keeps it out of the timing
            available[name] = detector
        except (ModelNotFoundError, ImportError) as exc:
            skipped[name] = str(exc)
            logger.warning("detector %s skipped: %s", name, exc)
    if not available:
        raise FacecloakError(
            f"none of the detectors {', '.join(names)} can run ({skipped}); install their models "
            "or choose others with --detectors"
        )
    return available, skipped


def run_detectors(
    rgb: np.ndarray, detectors: Mapping[str, Callable[[np.ndarray], list[Face]]]
) -> dict[str, DetectorRun]:
    """Every detector on ``rgb``, timed."""
    runs = {}
    for name, detector in detectors.items():
        started = time.perf_counter()
        faces = detector(rgb)
        runs[name] = DetectorRun(faces, time.perf_counter() - started)
    return runs


def detect_originals(
    photos: Sequence[DetectionPhoto],
    detectors: Mapping[str, Callable[[np.ndarray], list[Face]]],
    *,
    progress: bool = True,
) -> dict[str, Detections]:
    """Detections on every original photo, clean and after JPEG q75, keyed by photo key.

    Computed once and passed to :func:`evaluate_detection_protection` (``originals=``) when the
    same photos are evaluated under several protectors.
    """
    return {
        photo.key: _detect_original(load_image(photo.path), detectors)
        for photo in tqdm(photos, desc="originals", unit="photo", leave=False, disable=not progress)
    }


def _detect_original(
    rgb: np.ndarray, detectors: Mapping[str, Callable[[np.ndarray], list[Face]]]
) -> Detections:
    return {
        "original": run_detectors(rgb, detectors),
        "original_jpeg75": run_detectors(jpeg75(rgb), detectors),
    }


@dataclass
class DetectionProtectionReport:
    """Every photo's detections before and after protection, and the summary of them."""

    protector: str
    settings: dict
    detectors: list[str]
    attacked: list[str]
    skipped_detectors: dict[str, str]
    photos: list[PhotoResult]
    iou_threshold: float = DEFAULT_IOU

    def role(self, detector: str) -> str:
        """``white-box`` when the protection was computed against ``detector``, ``transfer`` when
        it was computed against others, ``-`` when against no detector (classical methods)."""
        if detector in self.attacked:
            return "white-box"
        return "transfer" if self.attacked else "-"

    def summary(self) -> dict:
        """JSON-ready numbers: protection time and face change, and per detector and image the
        detection rate, faces found, AP / recall / precision (labelled photos) and time."""
        ssims = [q["ssim"] for p in self.photos for q in p.face_quality]
        psnrs = [q["psnr"] for p in self.photos for q in p.face_quality if q["psnr"] is not None]
        labelled = [p for p in self.photos if p.photo.labelled]
        return {
            "protector": self.protector,
            "settings": self.settings,
            "photos": len(self.photos),
            "labelled_photos": len(labelled),
            "labelled_faces": sum(len(p.photo.truth or ()) for p in labelled),
            "faces_protected": sum(p.faces_protected or 0 for p in self.photos),
            "seconds_per_photo": mean_or_none([p.seconds for p in self.photos]),
            "seconds_per_photo_max": max((p.seconds for p in self.photos), default=None),
            "faces_measured": len(ssims),
            "face_ssim_mean": mean_or_none(ssims),
            "face_ssim_min": min(ssims, default=None),
            "face_psnr_mean": mean_or_none(psnrs),
            "linf_255_max": round(255 * max((p.linf for p in self.photos), default=0.0), 2),
            "iou_threshold": self.iou_threshold,
            "attacked": list(self.attacked),
            "skipped_detectors": dict(self.skipped_detectors),
            "detectors": {
                name: detector_summary(self.photos, name, self.role(name), self.iou_threshold)
                for name in self.detectors
            },
        }

    def write_report(self, outdir: str | Path) -> dict[str, Path]:
        """Write ``report.json`` (summary and every photo), ``report.md`` and ``grid.png``
        (original / protected with the first detector's boxes / 10x difference)."""
        summary = self.summary()
        return write_report_files(
            outdir,
            {"summary": summary, "photos": [p.to_dict() for p in self.photos]},
            detection_grid(self._grid_rows()),
            lambda grid_name: detection_markdown(summary, grid_name),
        )

    def _grid_rows(self) -> list[tuple[np.ndarray, list[Face], np.ndarray, list[Face]]]:
        """The kept photos, with the faces of the first attacked (else first) detector."""
        attacked = [d for d in self.detectors if d in self.attacked]
        drawn = (attacked or self.detectors)[0]
        return [
            (
                p.original_image,
                p.detections["original"][drawn].faces,
                p.protected_image,
                p.detections["protected"][drawn].faces,
            )
            for p in self.photos
            if p.original_image is not None and p.protected_image is not None
        ]


def evaluate_detection_protection(
    photos: Sequence[DetectionPhoto],
    protector: Protector | Callable[[np.ndarray], object],
    detectors: Sequence[str] = ("centerface", "hog"),
    *,
    attacked: Sequence[str] | None = None,
    originals: Mapping[str, Detections] | None = None,
    keep_images: int = 4,
    skip_unknown: bool = False,
    progress: bool = True,
) -> DetectionProtectionReport:
    """Protect every photo and look for its faces with every detector, before and after.

    Args:
        photos: the photos (see :func:`photos_from_folder`).
        protector: a :class:`Protector` or a callable ``rgb -> protected rgb | ProtectResult``.
        detectors: detector names (see :mod:`facecloak.models.detectors`); those whose models are
            absent are skipped with a warning.
        attacked: the detectors the protection was computed against (reported as white-box);
            default: the protector's ``attacked``.
        originals: detections on the originals from :func:`detect_originals`, to reuse.
        keep_images: keep the images of the first N photos with a face, for the report's grid.
        skip_unknown: skip (rather than reject) detector names this version does not have.
        progress: show a progress bar.
    """
    protector = as_protector(protector)
    runnable, skipped = load_detectors(detectors, skip_unknown=skip_unknown)
    results = []
    for photo in tqdm(photos, desc=protector.name, unit="photo", leave=False, disable=not progress):
        cached = (originals or {}).get(photo.key)
        if cached is not None and not set(runnable) <= set(cached["original"]):
            cached = None
        kept = sum(result.original_image is not None for result in results)
        results.append(_evaluate_photo(photo, protector, runnable, cached, kept < keep_images))
    return DetectionProtectionReport(
        protector=protector.name,
        settings=dict(protector.settings),
        detectors=list(runnable),
        attacked=list(protector.attacked if attacked is None else attacked),
        skipped_detectors=skipped,
        photos=results,
    )


def _evaluate_photo(
    photo: DetectionPhoto,
    protector: Protector,
    detectors: Mapping[str, Callable[[np.ndarray], list[Face]]],
    originals: Detections | None,
    keep: bool,
) -> PhotoResult:
    rgb = load_image(photo.path)
    detections: Detections = {
        image: {name: runs[name] for name in detectors}
        for image, runs in (originals or _detect_original(rgb, detectors)).items()
        if image in ORIGINAL_IMAGES
    }
    started = time.perf_counter()
    protected, protected_faces = protector(rgb)
    seconds = time.perf_counter() - started
    detections["protected"] = run_detectors(protected, detectors)
    detections["protected_jpeg75"] = run_detectors(jpeg75(protected), detectors)
    first = next(iter(detectors))
    regions = face_regions(photo, protected_faces, detections["original"][first].faces)
    return PhotoResult(
        photo=photo,
        detections=detections,
        seconds=seconds,
        faces_protected=None if protected_faces is None else len(protected_faces),
        face_quality=[region_change(rgb, protected, box) for box in regions],
        linf=float(np.abs(rgb.astype(np.int16) - protected.astype(np.int16)).max()) / 255.0,
        original_image=rgb if keep and regions else None,
        protected_image=protected if keep and regions else None,
    )
