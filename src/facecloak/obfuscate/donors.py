"""The faces a swap may borrow: a folder of donor photos, indexed once and cached on disk.

Each donor photo's largest face is measured once (68 landmarks, :class:`FaceTraits`, the
recognizer's embedding) and the index is kept under :func:`facecloak.paths.cache_dir`, keyed by
the folder, its files (name, size, time) and the recognizer; a changed folder is indexed anew.

Choosing a donor for a face: those whose pose, mouth state, skin tone and glasses match
(relaxing the least important rule first when none do), then among them the one farthest from
the face by the recognizer: the swapped face should not be taken for its owner.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from facecloak.errors import FacecloakError, NoFaceError
from facecloak.faces.landmarks import predict_landmarks_68
from facecloak.faces.traits import FaceTraits, measure_traits
from facecloak.images import IMAGE_SUFFIXES, load_image
from facecloak.models import DEFAULT_DETECTOR, detect, largest_face
from facecloak.models.recognizer import Recognizer
from facecloak.paths import cache_dir

logger = logging.getLogger(__name__)

INDEX_VERSION = 1


@dataclass(frozen=True)
class DonorRules:
    """How close a donor must be to the face it replaces: ``yaw`` in [-1, 1] units, ``skin`` as
    a CIE Lab distance; the mouth (open or closed) and glasses must agree."""

    yaw: float = 0.25
    skin: float = 20.0


@dataclass(frozen=True)
class DonorIndex:
    """Every usable donor of a folder: its photo, 68 landmarks, traits and embedding."""

    folder: Path
    recognizer: str
    paths: tuple[Path, ...]
    points: np.ndarray
    traits: tuple[FaceTraits, ...]
    embeddings: torch.Tensor

    def __len__(self) -> int:
        return len(self.paths)

    def choose(
        self,
        traits: FaceTraits,
        embedding: torch.Tensor,
        recognizer: Recognizer,
        rules: DonorRules | None = None,
    ) -> int:
        """The index of the donor for a face with ``traits`` and ``embedding``."""
        candidates = matching_donors(self.traits, traits, rules or DonorRules())
        distances = recognizer.distance(self.embeddings[candidates], embedding[None])
        return candidates[int(torch.argmax(distances))]

    def photo(self, number: int) -> np.ndarray:
        """The donor's photo (read on demand, the last few kept)."""
        return _donor_photo(self.paths[number])


def matching_donors(
    donors: tuple[FaceTraits, ...], face: FaceTraits, rules: DonorRules
) -> list[int]:
    """Indices of the donors that pass every rule; when none does, the rules are dropped from
    the least important (glasses, then skin, then mouth); the pose rule is widened last.

    Example:
        >>> plain = FaceTraits(0.0, False, (60.0, 10.0, 20.0), False)
        >>> turned = FaceTraits(0.6, False, (60.0, 10.0, 20.0), False)
        >>> matching_donors((turned, plain), plain, DonorRules())
        [1]
    """
    checks = [
        lambda d: abs(d.yaw - face.yaw) <= rules.yaw,
        lambda d: d.mouth_open == face.mouth_open,
        lambda d: float(np.linalg.norm(np.subtract(d.skin, face.skin))) <= rules.skin,
        lambda d: d.glasses == face.glasses,
    ]
    for kept in range(len(checks), 0, -1):
        chosen = [i for i, d in enumerate(donors) if all(check(d) for check in checks[:kept])]
        if chosen:
            return chosen
    order = sorted(range(len(donors)), key=lambda i: abs(donors[i].yaw - face.yaw))
    return order[: max(1, len(order) // 4)]


def index_donors(
    folder: str | Path, recognizer: Recognizer, detector: str = DEFAULT_DETECTOR
) -> DonorIndex:
    """The :class:`DonorIndex` of ``folder`` (from the cache when the folder is unchanged).

    Raises:
        FacecloakError: the folder is missing or holds no photo, or no photo shows a face.
    """
    photos = donor_photos(folder)
    key = _cache_key(Path(folder), photos, recognizer.name, detector)
    if key not in _INDEXES:
        _INDEXES[key] = _cached_index(Path(folder).resolve(), key, recognizer, detector)
    return _INDEXES[key]


def donor_photos(folder: str | Path) -> list[Path]:
    """The photos of a donor folder (searched recursively), or a one-line error."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FacecloakError(f"donors {str(folder)!r} is not a folder; give a folder of photos")
    photos = sorted(
        p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
    )
    if not photos:
        raise FacecloakError(
            f"donors {str(folder)!r} holds no photos (JPEG, PNG, WebP, TIFF, BMP); add portraits "
            "of people who agreed to lend their face, or generated faces"
        )
    return photos


_INDEXES: dict[str, DonorIndex] = {}
"""The indexes read in this process, by cache key."""


def _cached_index(folder: Path, key: str, recognizer: Recognizer, detector: str) -> DonorIndex:
    cached = cache_dir("donors") / f"{key}.npz"
    if cached.is_file():
        try:
            return _read_index(cached, folder, recognizer.name)
        except (OSError, KeyError, ValueError) as exc:
            logger.warning("donor cache %s unreadable (%s); indexing again", cached, exc)
    index = _build_index(folder, recognizer, detector)
    _write_index(cached, index)
    return index


def _build_index(folder: Path, recognizer: Recognizer, detector: str) -> DonorIndex:
    from tqdm import tqdm

    photos = donor_photos(folder)
    paths, points, traits, embeddings = [], [], [], []
    for path in tqdm(photos, desc="indexing donors", unit="photo", leave=False):
        try:
            rgb = load_image(path)
        except FacecloakError as exc:
            logger.warning("donor %s skipped: %s", path, exc)
            continue
        face = largest_face(detect(rgb, detector=detector))
        if face is None:
            logger.info("donor %s skipped: no face", path)
            continue
        shape = predict_landmarks_68(rgb, face.box)
        paths.append(path)
        points.append(shape)
        traits.append(measure_traits(rgb, shape))
        embeddings.append(recognizer.embed(rgb, [face])[0])
    if not paths:
        raise NoFaceError(
            f"donors {str(folder)!r}: no face found in any of its {len(photos)} photos; give "
            "clear portraits, one face each"
        )
    logger.info("indexed %d donors of %s", len(paths), folder)
    stacked = torch.stack(embeddings)
    return DonorIndex(
        folder, recognizer.name, tuple(paths), np.stack(points), tuple(traits), stacked
    )


def _write_index(path: Path, index: DonorIndex) -> None:
    np.savez(
        path,
        version=INDEX_VERSION,
        paths=np.array([str(p) for p in index.paths]),
        points=index.points,
        yaw=np.array([t.yaw for t in index.traits]),
        mouth_open=np.array([t.mouth_open for t in index.traits]),
        skin=np.array([t.skin for t in index.traits]),
        glasses=np.array([t.glasses for t in index.traits]),
        embeddings=index.embeddings.numpy(),
    )


def _read_index(path: Path, folder: Path, recognizer: str) -> DonorIndex:
    with np.load(path) as data:
        if int(data["version"]) != INDEX_VERSION:
            raise ValueError("older index version")
        traits = tuple(
            FaceTraits(float(y), bool(m), (float(s[0]), float(s[1]), float(s[2])), bool(g))
            for y, m, s, g in zip(
                data["yaw"], data["mouth_open"], data["skin"], data["glasses"], strict=True
            )
        )
        return DonorIndex(
            folder,
            recognizer,
            tuple(Path(p) for p in data["paths"]),
            data["points"].copy(),
            traits,
            torch.from_numpy(data["embeddings"].copy()),
        )


def _cache_key(folder: Path, photos: list[Path], recognizer: str, detector: str) -> str:
    digest = hashlib.sha256(f"{folder.resolve()}|{recognizer}|{detector}".encode())
    for photo in photos:
        stat = photo.stat()
        digest.update(f"|{photo}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:24]


@lru_cache(maxsize=8)
def _donor_photo(path: Path) -> np.ndarray:
    return load_image(path)
