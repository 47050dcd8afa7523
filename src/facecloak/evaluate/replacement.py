"""Machine assessors of a face replacement (or any visible obfuscation): what a recognizer, a
detector and a landmark predictor see on the changed photo.

For one photo of a person whose face was changed:

- **no match** (per recognizer): the changed face is at least the threshold away from every
  other photo of the person;
- **rank-1 miss** (per recognizer): the nearest face of a gallery (one other photo per identity)
  is not the person;
- **still detected**: the detector still finds a face there (a replaced face must look like one);
- **landmark error**: the 68 landmarks of the changed face against the original's, in
  inter-ocular distances (pose and expression kept: small);
- **outside change**: the share of pixels outside the face's working area
  (:func:`facecloak.faces.regions.face_region`) that changed (should be 0).

The recognizers see the changed photo as an attacker would: the face found anew (or, when the
detector misses it, where it was), aligned from landmarks predicted on the changed pixels.

Example:
    >>> import numpy as np
    >>> same = np.zeros((32, 32, 3), np.uint8)
    >>> outside_change(same, same, np.zeros((32, 32), bool))
    (0.0, 0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from facecloak.evaluate.identification import nearest_identities
from facecloak.faces.face import Face
from facecloak.faces.landmarks import predict_landmarks, predict_landmarks_68
from facecloak.faces.regions import face_region
from facecloak.faces.shape import landmark_error
from facecloak.models import DEFAULT_DETECTOR, find_again
from facecloak.models.recognizer import Recognizer


@dataclass(frozen=True)
class Gallery:
    """What one recognizer knows: embeddings of each subject's other photos, and a gallery of
    one clean embedding per identity for identification."""

    recognizer: Recognizer
    others: dict[str, torch.Tensor]
    gallery: torch.Tensor
    identities: tuple[str, ...]


@dataclass
class Assessment:
    """The assessors' verdicts on one changed photo (see the module's list)."""

    identity: str
    no_match: dict[str, bool] = field(default_factory=dict)
    rank1_miss: dict[str, bool] = field(default_factory=dict)
    detected: bool = False
    landmark_error: float = float("nan")
    outside_changed: float = 0.0
    outside_max: int = 0

    def to_dict(self) -> dict:
        return {
            "identity": self.identity,
            "no_match": self.no_match,
            "rank1_miss": self.rank1_miss,
            "detected": self.detected,
            "landmark_error": round(self.landmark_error, 4),
            "outside_changed": self.outside_changed,
            "outside_max": self.outside_max,
        }


def build_gallery(
    recognizer: Recognizer, others: dict[str, Sequence[tuple[np.ndarray, Face]]]
) -> Gallery:
    """A :class:`Gallery` from each identity's other clean photos (``(rgb, face)`` pairs); the
    first of them stands for the identity in the identification gallery."""
    embedded = {
        identity: torch.cat([recognizer.embed(rgb, [face]) for rgb, face in photos])
        for identity, photos in others.items()
        if photos
    }
    identities = tuple(embedded)
    gallery = torch.stack([embedded[identity][0] for identity in identities])
    return Gallery(recognizer, embedded, gallery, identities)


def assess(
    original: np.ndarray,
    changed: np.ndarray,
    face: Face,
    identity: str,
    galleries: Sequence[Gallery],
    detector: str = DEFAULT_DETECTOR,
) -> Assessment:
    """Every machine assessor on ``changed`` (``original`` with ``face`` replaced)."""
    (found,) = find_again(changed, [face], detector)
    seen = found or Face(face.box, 0.0, predict_landmarks(changed, face.box), detector)
    result = identity_verdicts(changed, seen, identity, galleries)
    result.detected = found is not None
    result.landmark_error = landmark_shift(original, changed, face)
    allowed = working_area(face, *original.shape[:2])
    result.outside_changed, result.outside_max = outside_change(original, changed, allowed)
    return result


def identity_verdicts(
    rgb: np.ndarray, face: Face, identity: str, galleries: Sequence[Gallery]
) -> Assessment:
    """Only the recognizers' verdicts (no match, rank-1 miss) on ``face`` of ``rgb`` against
    ``identity``'s other photos: for a changed photo, or for references such as the unchanged
    photo or another person's."""
    result = Assessment(identity)
    for gallery in galleries:
        name = gallery.recognizer.name
        embedding = gallery.recognizer.embed(rgb, [face])
        distances = gallery.recognizer.distance(gallery.others[identity], embedding)
        result.no_match[name] = bool(distances.min() >= gallery.recognizer.threshold)
        guess, _ = nearest_identities(embedding, gallery.gallery, gallery.identities)
        result.rank1_miss[name] = guess[0] != identity
    return result


def landmark_shift(original: np.ndarray, changed: np.ndarray, face: Face) -> float:
    """The 68-landmark error between the two photos, both predicted in the original's box."""
    before = predict_landmarks_68(original, face.box)
    after = predict_landmarks_68(changed, face.box)
    return landmark_error(before, after)


def working_area(face: Face, height: int, width: int) -> np.ndarray:
    """``(H, W)`` bool: the crop every protection of ``face`` may change."""
    x0, y0, x1, y1 = face_region(face, height, width).crop
    allowed = np.zeros((height, width), bool)
    allowed[y0:y1, x0:x1] = True
    return allowed


def outside_change(
    original: np.ndarray, changed: np.ndarray, allowed: np.ndarray
) -> tuple[float, int]:
    """Share of the pixels outside ``allowed`` that changed, and the largest change there."""
    difference = np.abs(original.astype(np.int16) - changed.astype(np.int16)).max(axis=2)
    outside = difference[~allowed]
    if outside.size == 0:
        return 0.0, 0
    return float((outside > 0).mean()), int(outside.max())


def summarise(assessments: Sequence[Assessment], seconds: Sequence[float]) -> dict:
    """Rates over many photos: no match and rank-1 miss per recognizer, still detected, mean
    landmark error, photos changed outside the face, mean time per face."""
    count = max(1, len(assessments))
    names = sorted({name for a in assessments for name in a.no_match})
    errors = [a.landmark_error for a in assessments if np.isfinite(a.landmark_error)]
    return {
        "photos": len(assessments),
        "no_match": {n: sum(a.no_match[n] for a in assessments) / count for n in names},
        "rank1_miss": {n: sum(a.rank1_miss[n] for a in assessments) / count for n in names},
        "detected": sum(a.detected for a in assessments) / count,
        "landmark_error": float(np.mean(errors)) if errors else float("nan"),
        "changed_outside": sum(a.outside_changed > 0 for a in assessments) / count,
        "seconds_per_face": float(np.mean(seconds)) if len(seconds) else float("nan"),
    }
