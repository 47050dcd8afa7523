"""Detection before and after protection, measured: what each detector found on each image,
detection rates, AP / recall / precision against labels, and the change to each face region.

Example:
    >>> pad_box((10, 10, 20, 30), 0.1, width=100, height=100)
    (9, 8, 21, 32)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from facecloak.evaluate.detection import detection_metrics, match_image
from facecloak.evaluate.detection_photos import DetectionPhoto
from facecloak.faces.face import Face
from facecloak.geometry import Box
from facecloak.protect.evasion import SSIM_BOX_PADDING
from facecloak.quality import image_change

IMAGES = ("original", "original_jpeg75", "protected", "protected_jpeg75")
"""The four images every detector looks at, in report order."""

ORIGINAL_IMAGES = IMAGES[:2]
PROTECTED_IMAGES = IMAGES[2:]
DEFAULT_IOU = 0.5
FACE_PADDING = SSIM_BOX_PADDING  # where the evasion cloak keeps its SSIM floor
"""Face regions for SSIM/PSNR: the face box grown by this share of its size on every side."""


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


def detector_summary(
    photos: Sequence[PhotoResult], name: str, role: str, iou_threshold: float = DEFAULT_IOU
) -> dict:
    """One detector's numbers: per image seen, the detection rate and faces found, and AP /
    recall / precision against the labels (labelled photos only); its seconds per call."""
    calls = [p.detections[i][name].seconds for p in photos for i in IMAGES]
    reference = sum(len(p.detections["original"][name].faces) for p in photos)
    out: dict = {
        "role": role,
        "reference_faces": reference,
        "seconds_per_photo": mean_or_none(calls),
    }
    for image in IMAGES:
        found = sum(p.found(name, image) for p in photos)
        entry: dict = {
            "detection_rate": found / reference if reference else None,
            "faces_found": sum(len(p.detections[image][name].faces) for p in photos),
        }
        labelled = [p for p in photos if p.photo.labelled]
        if labelled:
            metrics = detection_metrics(
                {p.photo.key: p.detections[image][name].scored_boxes for p in labelled},
                {p.photo.key: list(p.photo.truth or ()) for p in labelled},
                iou_threshold,
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


def region_change(original: np.ndarray, protected: np.ndarray, box: Box) -> dict:
    """:func:`facecloak.quality.image_change` over ``box`` padded by :data:`FACE_PADDING`, as
    JSON (an unchanged region's PSNR is ``None``)."""
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


def mean_or_none(values: Sequence[float]) -> float | None:
    return float(np.mean(values)) if len(values) else None
