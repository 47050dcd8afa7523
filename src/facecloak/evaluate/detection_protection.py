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

Example:
    >>> photos = photos_from_folder("dlib_faces/")  # doctest: +SKIP
    >>> blur = classical_protector("blur")
    >>> report = evaluate_detection_protection(photos, blur)  # doctest: +SKIP
    >>> report.summary()["detectors"]["centerface"]["protected"]["detection_rate"]  # doctest: +SKIP
    0.0
"""

from __future__ import annotations

import inspect
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from facecloak.errors import FacecloakError, ModelNotFoundError, NoFaceError
from facecloak.evaluate.detection import Box, detection_metrics, match_image, read_box_labels
from facecloak.faces.face import Face
from facecloak.images import IMAGE_SUFFIXES, load_image
from facecloak.imaging import jpeg75
from facecloak.protect.evasion import SSIM_BOX_PADDING
from facecloak.quality import image_change

logger = logging.getLogger(__name__)

IMAGES = ("original", "original_jpeg75", "protected", "protected_jpeg75")
"""The four images every detector looks at, in report order."""

ORIGINAL_IMAGES = IMAGES[:2]
PROTECTED_IMAGES = IMAGES[2:]
DEFAULT_DETECTORS = ("centerface", "hog", "cnn", "haar", "ultralight", "yunet", "retinaface")
"""Every detector the evaluation knows of; unregistered or uninstalled ones are skipped."""

DEFAULT_IOU = 0.5
FACE_PADDING = SSIM_BOX_PADDING  # where the evasion cloak keeps its SSIM floor
"""Face regions for SSIM/PSNR: the face box grown by this share of its size on every side."""


# --------------------------------------------------------------------------- photos


@dataclass(frozen=True)
class DetectionPhoto:
    """A photo to evaluate.

    Attributes:
        path: the image file.
        key: its name in reports and in the box labels (path relative to its folder).
        truth: hand-labelled face boxes ``(x0, y0, x1, y1)``; ``()`` for a photo known to hold no
            face; ``None`` when the photo is not labelled.
    """

    path: Path
    key: str
    truth: tuple[Box, ...] | None = None

    @property
    def labelled(self) -> bool:
        return self.truth is not None


def photos_from_folder(
    folder: str | Path,
    boxes: str | Path | None = None,
    *,
    no_face: Sequence[str] = (),
    limit: int | None = None,
) -> list[DetectionPhoto]:
    """Every image under ``folder`` (recursive, sorted), with labels from ``boxes``.

    Args:
        folder: a folder of photos (suffixes of :data:`facecloak.images.IMAGE_SUFFIXES`).
        boxes: a CSV with ``path,left,top,width,height`` (paths relative to ``folder``); default
            ``folder/boxes.csv`` when it exists. Photos it lists are labelled; others are not.
        no_face: keys of photos known to hold no face (labelled with no box).
        limit: keep only the first ``limit`` photos.

    Raises:
        FacecloakError: the folder is missing or holds no image, or the CSV lists a missing photo.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FacecloakError(f"{folder}: not a folder; give a folder of photos")
    paths = sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    )
    if not paths:
        raise FacecloakError(
            f"{folder}: no photos found (looked for {', '.join(IMAGE_SUFFIXES)} in every "
            "sub-folder)"
        )
    if boxes is None and (folder / "boxes.csv").is_file():
        boxes = folder / "boxes.csv"
    truth = _read_boxes(Path(boxes)) if boxes is not None else {}
    keys = {p.relative_to(folder).as_posix(): p for p in paths}
    missing = sorted(set(truth) - set(keys))
    if missing:
        raise FacecloakError(
            f"{boxes}: {len(missing)} labelled photo(s) not found under {folder}, e.g. "
            f"{missing[0]}; the CSV's paths must be relative to the folder"
        )
    labels: dict[str, tuple[Box, ...]] = {k: tuple(v) for k, v in truth.items()}
    labels.update({k: () for k in no_face if k not in labels})
    photos = [DetectionPhoto(path, key, labels.get(key)) for key, path in keys.items()]
    return photos[:limit] if limit else photos


def _read_boxes(csv_path: Path) -> dict[str, list[Box]]:
    if not csv_path.is_file():
        raise FacecloakError(f"{csv_path}: box labels not found; give a CSV with --boxes")
    try:
        return read_box_labels(csv_path)
    except (KeyError, ValueError) as exc:
        raise FacecloakError(
            f"{csv_path}: unreadable box labels ({exc}); need columns path,left,top,width,height"
        ) from exc


# --------------------------------------------------------------------------- protectors


@dataclass
class Protector:
    """A named way of protecting a photo.

    ``run(rgb)`` returns the protected ``(H, W, 3)`` uint8 photo, or an object with ``.image``
    (and optionally ``.faces``, the faces it protected) such as
    :class:`facecloak.protect.ProtectResult`. A :class:`~facecloak.errors.NoFaceError` means there
    was nothing to protect: the photo is kept as it is.
    """

    name: str
    run: Callable[[np.ndarray], object]
    settings: dict = field(default_factory=dict)
    attacked: tuple[str, ...] = ()
    """The detectors the protection is computed against (white-box); none for classical ones."""

    def __call__(self, rgb: np.ndarray) -> tuple[np.ndarray, list[Face] | None]:
        """The protected photo and the faces protected (``None`` when the protector won't say)."""
        try:
            result = self.run(rgb)
        except NoFaceError as exc:
            logger.info("%s: nothing protected (%s)", self.name, exc)
            return rgb.copy(), []
        if isinstance(result, np.ndarray):
            return result, None
        image = getattr(result, "image", None)
        if not isinstance(image, np.ndarray) or image.shape != rgb.shape:
            raise FacecloakError(
                f"protector {self.name!r} returned {type(result).__name__} without a photo of "
                f"shape {rgb.shape}; return the protected uint8 array or a ProtectResult"
            )
        faces = getattr(result, "faces", None)
        return image, None if faces is None else list(faces)


def as_protector(protector: Protector | Callable[[np.ndarray], object]) -> Protector:
    """Wrap a bare callable as a :class:`Protector` named after it."""
    if isinstance(protector, Protector):
        return protector
    return Protector(getattr(protector, "__name__", "custom"), protector)


def classical_protector(method: str = "blur") -> Protector:
    """Blur, pixelate or mask every face CenterFace finds (the classical baselines)."""
    from facecloak.protect import CLASSICAL_METHODS, protect

    if method not in CLASSICAL_METHODS:
        raise FacecloakError(
            f"unknown classical method {method!r}; choose from {', '.join(CLASSICAL_METHODS)}"
        )
    return Protector(method, lambda rgb: protect(rgb, method=method), {"method": method})


def cloak_protector(
    *,
    against: str = "detection",
    eps: float = 0.02,
    steps: int = 10,
    robust: bool = False,
    attack_detectors: Sequence[str] = ("centerface",),
) -> Protector:
    """The detector-evasion cloak: ``protect(rgb, against=..., eps=..., steps=..., ...)``.

    ``eps`` is on the [0, 1] pixel scale. Raises :class:`FacecloakError` when this version of
    :func:`facecloak.protect.protect` has no ``against`` argument (no detector evasion yet).
    """
    from facecloak.protect import protect

    parameters = inspect.signature(protect).parameters
    if "against" not in parameters:
        raise FacecloakError(
            "detector evasion is not available: facecloak.protect.protect() has no `against` "
            "argument in this version; update facecloak, or evaluate a classical baseline "
            "(--method blur / --protector blur)"
        )
    settings = {
        "against": against,
        "eps": eps,
        "steps": steps,
        "robust": robust,
        "attack_detectors": list(attack_detectors),
    }

    def run(rgb: np.ndarray) -> object:
        return protect(
            rgb,
            against=against,
            eps=eps,
            steps=steps,
            robust=robust,
            evasion_detectors=tuple(attack_detectors),
        )

    return Protector(f"cloak against {against}", run, settings, tuple(attack_detectors))


# --------------------------------------------------------------------------- detectors


@dataclass
class DetectorRun:
    """One detector on one image: the faces it found and how long it took."""

    faces: list[Face]
    seconds: float

    @property
    def scored_boxes(self) -> list[tuple[Box, float]]:
        return [(tuple(face.box), float(face.score)) for face in self.faces]


Detections = dict[str, dict[str, DetectorRun]]
"""``{image: {detector: DetectorRun}}`` for one photo (``image`` one of :data:`IMAGES`)."""


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


# --------------------------------------------------------------------------- evaluation


@dataclass
class PhotoResult:
    """One photo: what each detector found on each image, the protection's time and change."""

    photo: DetectionPhoto
    detections: Detections
    seconds: float
    faces_protected: int | None
    face_quality: list[dict]
    linf: float
    original_image: np.ndarray | None = field(default=None, repr=False)
    protected_image: np.ndarray | None = field(default=None, repr=False)

    def found(self, detector: str, image: str) -> int:
        """Of ``detector``'s reference faces (on the original), how many it finds on ``image``."""
        reference = [box for box, _ in self.detections["original"][detector].scored_boxes]
        seen = self.detections[image][detector].scored_boxes
        return sum(hit for _, hit in match_image(seen, reference, DEFAULT_IOU))

    def to_dict(self) -> dict:
        return {
            "photo": self.photo.key,
            "labelled_faces": None if self.photo.truth is None else len(self.photo.truth),
            "seconds": round(self.seconds, 3),
            "faces_protected": self.faces_protected,
            "linf_255": round(255 * self.linf, 2),
            "face_quality": self.face_quality,
            "detections": {
                image: {
                    name: {
                        "seconds": round(run.seconds, 4),
                        "faces": [
                            {"box": [round(v, 1) for v in box], "score": round(score, 4)}
                            for box, score in run.scored_boxes
                        ],
                    }
                    for name, run in runs.items()
                }
                for image, runs in self.detections.items()
            },
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
            "seconds_per_photo": _mean([p.seconds for p in self.photos]),
            "seconds_per_photo_max": max((p.seconds for p in self.photos), default=None),
            "faces_measured": len(ssims),
            "face_ssim_mean": _mean(ssims),
            "face_ssim_min": min(ssims, default=None),
            "face_psnr_mean": _mean(psnrs),
            "linf_255_max": round(255 * max((p.linf for p in self.photos), default=0.0), 2),
            "iou_threshold": self.iou_threshold,
            "attacked": list(self.attacked),
            "skipped_detectors": dict(self.skipped_detectors),
            "detectors": {name: self._detector_summary(name) for name in self.detectors},
        }

    def _detector_summary(self, name: str) -> dict:
        calls = [p.detections[i][name].seconds for p in self.photos for i in IMAGES]
        reference = sum(len(p.detections["original"][name].faces) for p in self.photos)
        out: dict = {
            "role": self.role(name),
            "reference_faces": reference,
            "seconds_per_photo": _mean(calls),
        }
        for image in IMAGES:
            found = sum(p.found(name, image) for p in self.photos)
            entry: dict = {
                "detection_rate": found / reference if reference else None,
                "faces_found": sum(len(p.detections[image][name].faces) for p in self.photos),
            }
            labelled = [p for p in self.photos if p.photo.labelled]
            if labelled:
                metrics = detection_metrics(
                    {p.photo.key: p.detections[image][name].scored_boxes for p in labelled},
                    {p.photo.key: list(p.photo.truth or ()) for p in labelled},
                    self.iou_threshold,
                )
                entry.update(
                    ap=metrics.average_precision,
                    recall=metrics.recall,
                    precision=metrics.precision,
                    true_positives=metrics.true_positives,
                    false_positives=metrics.false_positives,
                    false_negatives=metrics.false_negatives,
                )
            out[image] = entry
        return out

    def write_report(self, outdir: str | Path) -> dict[str, Path]:
        """Write ``report.json`` (summary and every photo), ``report.md`` and ``grid.png``
        (original / protected with the first detector's boxes / 10x difference)."""
        outdir = Path(outdir)
        outdir.mkdir(parents=True, exist_ok=True)
        summary = self.summary()
        paths = {"json": outdir / "report.json", "markdown": outdir / "report.md"}
        paths["json"].write_text(
            json.dumps({"summary": summary, "photos": [p.to_dict() for p in self.photos]}, indent=2)
        )
        grid = comparison_grid(self.photos, self._drawn_detector())
        if grid is not None:
            paths["grid"] = outdir / "grid.png"
            grid.save(paths["grid"])
        paths["markdown"].write_text(
            report_markdown(summary, "grid.png" if grid is not None else None)
        )
        return paths

    def _drawn_detector(self) -> str:
        attacked = [d for d in self.detectors if d in self.attacked]
        return (attacked or self.detectors)[0]


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
        face_quality=[_region_change(rgb, protected, box) for box in regions],
        linf=float(np.abs(rgb.astype(np.int16) - protected.astype(np.int16)).max()) / 255.0,
        original_image=rgb if keep and regions else None,
        protected_image=protected if keep and regions else None,
    )


def face_regions(
    photo: DetectionPhoto, protected: list[Face] | None, detected: list[Face]
) -> list[Box]:
    """The face boxes whose change is measured: labels, else the protector's faces, else the
    first detector's faces on the original."""
    if photo.truth is not None:
        return list(photo.truth)
    if protected is not None:
        return [tuple(face.box) for face in protected]
    return [tuple(face.box) for face in detected]


def _region_change(original: np.ndarray, protected: np.ndarray, box: Box) -> dict:
    padded = pad_box(box, FACE_PADDING, original.shape[1], original.shape[0])
    change = image_change(original, protected, box=padded).to_dict()
    if change["psnr"] == float("inf"):
        change["psnr"] = None  # unchanged region: no finite PSNR (and not valid JSON)
    return {"box": list(padded), **change}


def pad_box(box: Box, share: float, width: int, height: int) -> tuple[int, int, int, int]:
    """``box`` grown by ``share`` of its width/height on each side, rounded, inside the photo."""
    x0, y0, x1, y1 = box
    dx, dy = share * (x1 - x0), share * (y1 - y0)
    return (
        max(0, round(x0 - dx)),
        max(0, round(y0 - dy)),
        min(width, round(x1 + dx)),
        min(height, round(y1 + dy)),
    )


def _mean(values: Sequence[float]) -> float | None:
    return float(np.mean(values)) if len(values) else None


# --------------------------------------------------------------------------- report


IMAGE_LABELS = {
    "original": "original",
    "original_jpeg75": "original, JPEG q75",
    "protected": "protected",
    "protected_jpeg75": "protected, JPEG q75",
}


def report_markdown(summary: dict, grid_name: str | None = None) -> str:
    """The Markdown report: one row per detector and image seen."""
    settings = ", ".join(f"{k} {v}" for k, v in summary["settings"].items())
    seconds = _number(summary["seconds_per_photo"], ".2f")
    slowest = _number(summary["seconds_per_photo_max"], ".2f")
    ssim_mean = _number(summary["face_ssim_mean"], ".4f")
    ssim_min = _number(summary["face_ssim_min"], ".4f")
    psnr = _number(summary["face_psnr_mean"], ".2f")
    lines = [
        f"# Detection evaluation: {summary['protector']}" + (f" ({settings})" if settings else ""),
        "",
        f"{summary['photos']} photos ({summary['labelled_photos']} labelled, "
        f"{summary['labelled_faces']} labelled faces). Protection: {seconds} s per photo "
        f"(max {slowest}); face-region SSIM mean {ssim_mean} (min {ssim_min}), PSNR {psnr} dB "
        f"over {summary['faces_measured']} faces; largest pixel change "
        f"{summary['linf_255_max']}/255.",
        "",
        "| detector | role | seen as | faces found | detection rate | AP | recall | precision "
        "| s / photo |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, entry in summary["detectors"].items():
        for image in IMAGES:
            cell = entry[image]
            lines.append(
                f"| {name} | {entry['role']} | {IMAGE_LABELS[image]} | {cell['faces_found']} | "
                f"{_percent(cell['detection_rate'])} | {_number(cell.get('ap'), '.3f')} | "
                f"{_number(cell.get('recall'), '.3f')} | {_number(cell.get('precision'), '.3f')} | "
                f"{_number(entry['seconds_per_photo'], '.3f')} |"
            )
    lines += [
        "",
        "Detection rate: of the faces a detector finds on the original photo, the share it still "
        f"finds (IoU >= {summary['iou_threshold']}) on the image seen. AP, recall and precision "
        f"at IoU {summary['iou_threshold']} against the labelled boxes (labelled photos only). "
        "White-box: the protection was computed against that detector; transfer: it was not.",
    ]
    if summary["skipped_detectors"]:
        skipped = "; ".join(f"{k}: {v}" for k, v in summary["skipped_detectors"].items())
        lines += ["", f"Skipped detectors: {skipped}."]
    if grid_name:
        lines += [
            "",
            f"![original, protected (boxes found), 10x difference]({grid_name})",
        ]
    return "\n".join(lines) + "\n"


def _number(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def comparison_grid(
    photos: Sequence[PhotoResult], detector: str, tile: int = 320
) -> Image.Image | None:
    """Rows of original / protected (each with ``detector``'s boxes on it) / 10x difference."""
    from facecloak.faces.draw import draw_faces

    kept = [p for p in photos if p.original_image is not None and p.protected_image is not None]
    if not kept:
        return None
    grid = Image.new("RGB", (3 * tile, len(kept) * tile), "white")
    for row, photo in enumerate(kept):
        difference = photo.protected_image.astype(np.float32) - photo.original_image
        pictures = (
            draw_faces(photo.original_image, photo.detections["original"][detector].faces),
            draw_faces(photo.protected_image, photo.detections["protected"][detector].faces),
            Image.fromarray(np.clip(127.5 + 10 * difference, 0, 255).astype(np.uint8)),
        )
        for column, picture in enumerate(pictures):
            picture.thumbnail((tile, tile), Image.Resampling.LANCZOS)
            offset = ((tile - picture.width) // 2, (tile - picture.height) // 2)
            grid.paste(picture, (column * tile + offset[0], row * tile + offset[1]))
    return grid
