"""The training set of the replacement generator, prepared once and cached outside the project.

Each labelled photo's face is found (dlib HOG, the face nearest the centre), given its 68
landmarks, aligned to a 128 px crop (:mod:`~facecloak.replace.crops`) and measured
(:mod:`~facecloak.replace.attributes`). The cache is a folder of numpy arrays (memory-mapped when
read) and ``meta.json``; real photos' derivatives stay there, never in the repository.

A share of the identities (chosen by a hash of the name, so the same ones on every run) is held out
for the held-out loss curve.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from facecloak.datasets import LabelledPhoto, read_labelled_folder
from facecloak.errors import FacecloakError
from facecloak.faces.landmarks import predict_landmarks_68
from facecloak.images import load_image
from facecloak.models.detect import centre_face
from facecloak.paths import cache_dir
from facecloak.replace.attributes import NAMES, measure, roll
from facecloak.replace.crops import CROP_SIZE, align_crop

log = logging.getLogger(__name__)
CACHE_VERSION = 1
HELD_OUT_SHARE = 0.03


def default_cache() -> Path:
    """``$XDG_CACHE_HOME/facecloak/replacer`` (or ``~/.cache/...``; ``$FACECLOAK_CACHE`` wins)."""
    return cache_dir("replacer")


@dataclass(frozen=True)
class FaceSet:
    """The prepared faces: ``crops`` (N, 128, 128, 3) uint8, ``points`` (N, 68, 2) float32 in crop
    pixels, ``measures`` (N, attributes) float32 and ``held_out`` (N,) bool."""

    crops: np.ndarray
    points: np.ndarray
    measures: np.ndarray
    held_out: np.ndarray

    def __len__(self) -> int:
        return len(self.crops)


def held_out(identity: str, share: float = HELD_OUT_SHARE) -> bool:
    """Whether ``identity`` belongs to the held-out share (stable across runs and machines)."""
    digest = hashlib.sha1(identity.encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < share


def prepare_faces(
    folders: Sequence[Path],
    cache: Path | None = None,
    max_faces: int | None = None,
    progress: bool = True,
) -> FaceSet:
    """The prepared faces of the labelled ``folders``, from the cache when it was built for the
    same folders (and at least ``max_faces``), else built now."""
    cache = Path(cache) if cache is not None else default_cache()
    key = _cache_key(folders, max_faces)
    target = cache / key
    if not (target / "meta.json").is_file():
        photos = [photo for folder in folders for photo in read_labelled_folder(folder)]
        if max_faces is not None:
            photos = photos[:: max(1, len(photos) // max_faces)][:max_faces]
        _build(photos, target, progress)
    return load_faces(target)


def load_faces(folder: Path) -> FaceSet:
    """A :class:`FaceSet` memory-mapped from a prepared cache ``folder``."""
    meta = json.loads((folder / "meta.json").read_text())
    if meta.get("version") != CACHE_VERSION or meta.get("attributes") != list(NAMES):
        raise FacecloakError(f"{folder}: made by another version; delete it to rebuild")
    arrays = {
        name: np.load(folder / f"{name}.npy", mmap_mode="r")
        for name in ("crops", "points", "measures", "held_out")
    }
    return FaceSet(**arrays)


def prepare_photo(rgb: np.ndarray, detector) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The aligned crop, its 68 points and measures of the face nearest the photo's centre, or
    None without a face."""
    face = centre_face(detector(rgb), rgb.shape[1], rgb.shape[0])
    if face is None:
        return None
    points = predict_landmarks_68(rgb, face.box)
    crop, crop_points, _ = align_crop(rgb, points)
    return crop, crop_points.astype(np.float32), measure(crop, crop_points, roll(points))


def _build(photos: list[LabelledPhoto], target: Path, progress: bool) -> None:
    from facecloak.models.dlib_detectors import HogDetector

    detector = HogDetector(upsample_below_megapixels=0.0)
    target.mkdir(parents=True, exist_ok=True)
    crops = np.lib.format.open_memmap(
        target / "crops.partial.npy", "w+", np.uint8, (len(photos), CROP_SIZE, CROP_SIZE, 3)
    )
    points, measures, held, found = [], [], [], 0
    for photo in tqdm(photos, desc="prepare faces", unit="photo", disable=not progress):
        prepared = prepare_photo(load_image(photo.path), detector)
        if prepared is None:
            continue
        crops[found] = prepared[0]
        points.append(prepared[1])
        measures.append(prepared[2])
        held.append(held_out(photo.identity))
        found += 1
    if not found:
        raise FacecloakError("no face found in any photo: give folders of face photos")
    np.save(target / "crops.npy", crops[:found])
    del crops
    (target / "crops.partial.npy").unlink()
    np.save(target / "points.npy", np.stack(points))
    np.save(target / "measures.npy", np.stack(measures))
    np.save(target / "held_out.npy", np.array(held, bool))
    meta = {"version": CACHE_VERSION, "attributes": list(NAMES), "photos": len(photos)}
    (target / "meta.json").write_text(json.dumps({**meta, "faces": found}))
    log.info("prepared %d faces of %d photos in %s", found, len(photos), target)


def _cache_key(folders: Sequence[Path], max_faces: int | None) -> str:
    names = "|".join(str(Path(folder).resolve()) for folder in folders)
    digest = hashlib.sha1(f"{CACHE_VERSION}|{names}|{max_faces}".encode()).hexdigest()[:12]
    return f"faces-{digest}"
