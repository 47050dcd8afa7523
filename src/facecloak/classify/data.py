"""Labelled face chips for training identity classifiers, with an on-disk chip cache.

Every labelled photo becomes one dlib-aligned 150x150 chip (the face nearest the photo's centre,
as in LFW crops): detection and landmarks are slow, so chips are cached in one ``.npz`` per photo
folder and detector (``chips-<key>.npz`` under the cache folder) and reused on the next run;
photos added later are processed and appended. Photos without a face are left out (and
remembered, so they are not searched again).

Example::

    chips = load_chip_set("faces/", min_per_identity=5, cache_dir="build/chip-cache")
    train, val = split_per_identity(chips, fraction=0.2, seed=0)
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor
from tqdm import tqdm

from facecloak.datasets import LabelledPhoto, read_labelled_folder
from facecloak.errors import FacecloakError
from facecloak.faces.face import Face

logger = logging.getLogger(__name__)

CHIP_SIZE = 150
DEFAULT_CACHE_DIR = Path("build") / "chip-cache"
"""Where the command line caches chips unless told otherwise (relative to the working folder)."""


@dataclass
class ChipSet:
    """Aligned face chips and their identities.

    Attributes:
        chips: ``(N, 3, 150, 150)`` uint8 RGB.
        labels: ``(N,)`` int64 indices into ``class_names``.
        class_names: identity names, sorted.
        paths: source photo of each chip.
    """

    chips: Tensor
    labels: Tensor
    class_names: list[str]
    paths: list[str]

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def float_chips(self, indices: Tensor | None = None) -> Tensor:
        """Chips (all, or rows ``indices``) as float32 in [0, 1]."""
        chips = self.chips if indices is None else self.chips[indices]
        return chips.float().div_(255.0)

    def subset(self, indices: Sequence[int] | Tensor) -> ChipSet:
        """The chips at ``indices``, with the same class names (labels unchanged)."""
        index = torch.as_tensor(indices, dtype=torch.long)
        return ChipSet(
            self.chips[index],
            self.labels[index],
            list(self.class_names),
            [self.paths[i] for i in index.tolist()],
        )

    def counts(self) -> Counter[str]:
        """Chips per identity name."""
        return Counter(self.class_names[i] for i in self.labels.tolist())

    def select_identities(self, names: Sequence[str]) -> ChipSet:
        """Only the chips of ``names``, relabelled ``0..len(names)-1`` in sorted name order."""
        wanted = sorted(set(names))
        unknown = sorted(set(wanted) - set(self.class_names))
        if unknown:
            raise ValueError(f"unknown identities: {', '.join(unknown[:5])}")
        new_label = {self.class_names.index(name): i for i, name in enumerate(wanted)}
        keep = [i for i, label in enumerate(self.labels.tolist()) if label in new_label]
        chosen = self.subset(keep)
        chosen.labels = torch.tensor(
            [new_label[label] for label in chosen.labels.tolist()], dtype=torch.long
        )
        chosen.class_names = wanted
        return chosen

    def with_min_per_identity(self, minimum: int) -> ChipSet:
        """Only identities with at least ``minimum`` chips."""
        counts = self.counts()
        return self.select_identities([name for name, n in counts.items() if n >= minimum])


def load_chip_set(
    folder: str | Path,
    *,
    min_per_identity: int = 1,
    cache_dir: str | Path | None = None,
    detector: str = "centerface",
    aligned: bool = False,
    progress: bool = True,
) -> ChipSet:
    """The aligned chips of every labelled photo in ``folder`` (see :func:`read_labelled_folder`).

    Args:
        folder: ``labels.csv`` (``path,identity``) or one sub-folder per identity.
        min_per_identity: leave out identities with fewer chips (after face detection).
        cache_dir: folder for the chip cache; ``None`` disables caching.
        detector: face detector for :func:`facecloak.models.detect`.
        aligned: the photos already are aligned face chips: resize them to 150x150 instead of
            detecting faces.
        progress: show a progress bar while extracting chips.

    Raises:
        FacecloakError: no labelled photos, or fewer than 2 identities with enough faces.
    """
    folder = Path(folder)
    photos = read_labelled_folder(folder, 1)
    chips = extract_chip_set(
        photos,
        root=folder,
        cache_dir=cache_dir,
        detector=detector,
        aligned=aligned,
        progress=progress,
    ).with_min_per_identity(min_per_identity)
    if chips.num_classes < 2:
        raise FacecloakError(
            f"{folder}: need at least 2 identities with {min_per_identity} photo(s) where a face "
            "was found; add photos or lower --min-per-identity"
        )
    return chips


def extract_chip_set(
    photos: Sequence[LabelledPhoto],
    *,
    root: str | Path | None = None,
    cache_dir: str | Path | None = None,
    detector: str = "centerface",
    aligned: bool = False,
    progress: bool = True,
) -> ChipSet:
    """Chips of ``photos`` (those where a face was found), through the cache.

    ``root`` is the folder the photos were listed from: cache entries are keyed by the path
    relative to it (default: the common parent of the photos).
    """
    if not photos:
        raise FacecloakError("no photos to extract face chips from")
    root = Path(root) if root is not None else Path(*_common_parts([p.path for p in photos]))
    cache = _ChipCache(cache_dir, root, detector, aligned)
    keys = [_relative_key(photo.path, root) for photo in photos]
    missing = [(key, photo) for key, photo in zip(keys, photos, strict=True) if key not in cache]
    if missing:
        bar = tqdm(missing, desc="face chips", unit="photo", disable=not progress, leave=False)
        for key, photo in bar:
            cache.put(key, photo.path, _photo_chip(photo.path, detector, aligned))
        cache.save()
    found = [(key, photo) for key, photo in zip(keys, photos, strict=True) if cache.has_face(key)]
    if len(found) < len(photos):
        logger.warning("no face found in %d of %d photos", len(photos) - len(found), len(photos))
    if not found:
        raise FacecloakError(f"{root}: no face found in any photo; check the photos or --detector")
    names = sorted({photo.identity for _, photo in found})
    index = {name: i for i, name in enumerate(names)}
    chips = np.stack([cache.chip(key) for key, _ in found])
    return ChipSet(
        chips=torch.from_numpy(chips).permute(0, 3, 1, 2).contiguous(),
        labels=torch.tensor([index[photo.identity] for _, photo in found], dtype=torch.long),
        class_names=names,
        paths=[str(photo.path) for _, photo in found],
    )


def split_per_identity(
    chips: ChipSet, *, fraction: float | None = None, count: int | None = None, seed: int = 0
) -> tuple[ChipSet, ChipSet]:
    """``(kept, held_out)``: a random share of every identity's chips is held out.

    Give either ``fraction`` (rounded per identity; at least one chip when the fraction is
    positive) or ``count`` chips per identity. Every identity keeps at least one chip.
    """
    if (fraction is None) == (count is None):
        raise ValueError("give exactly one of fraction or count")
    if fraction is not None and not 0 <= fraction < 1:
        raise ValueError(f"the held-out fraction must be in [0, 1), got {fraction}")
    generator = torch.Generator().manual_seed(seed)
    kept: list[int] = []
    held: list[int] = []
    for label in range(chips.num_classes):
        rows = (chips.labels == label).nonzero().squeeze(1)
        rows = rows[torch.randperm(len(rows), generator=generator)].tolist()
        if count is not None:
            n_held = count
        else:
            n_held = max(1, round(fraction * len(rows))) if fraction and fraction > 0 else 0
        n_held = min(n_held, len(rows) - 1)
        held += rows[:n_held]
        kept += rows[n_held:]
    return chips.subset(sorted(kept)), chips.subset(sorted(held))


def pick_face(faces: Sequence[Face], width: int, height: int, how: str = "centre") -> Face | None:
    """The face nearest the photo's centre (``"centre"``) or the largest one (``"largest"``)."""
    if not faces:
        return None
    if how == "largest":
        return max(faces, key=lambda face: face.area)
    if how != "centre":
        raise ValueError(f"pick faces by 'centre' or 'largest', got {how!r}")

    def offset(face: Face) -> float:
        x0, y0, x1, y1 = face.box
        return ((x0 + x1) / 2 - width / 2) ** 2 + ((y0 + y1) / 2 - height / 2) ** 2

    return min(faces, key=offset)


def photo_chip(
    rgb: np.ndarray, *, detector: str = "centerface", aligned: bool = False, how: str = "centre"
) -> np.ndarray | None:
    """One ``(150, 150, 3)`` uint8 chip of a photo, or ``None`` when no face is found.

    With ``aligned`` the photo already is a face chip and is only resized.
    """
    if aligned:
        image = Image.fromarray(rgb)
        if image.size != (CHIP_SIZE, CHIP_SIZE):
            image = image.resize((CHIP_SIZE, CHIP_SIZE), Image.Resampling.BILINEAR)
        return np.array(image, dtype=np.uint8)
    from facecloak.faces.align import face_chips
    from facecloak.imaging import to_uint8
    from facecloak.models import detect

    face = pick_face(detect(rgb, detector=detector), rgb.shape[1], rgb.shape[0], how)
    if face is None:
        return None
    with torch.no_grad():
        return to_uint8(face_chips(rgb, [face], size=CHIP_SIZE))[0]


def _photo_chip(path: Path, detector: str, aligned: bool) -> np.ndarray | None:
    from facecloak.images import load_image

    chip = photo_chip(load_image(path), detector=detector, aligned=aligned)
    if chip is None:
        logger.info("%s: no face found (%s detector); left out", path, detector)
    return chip


class _ChipCache:
    """``.npz`` of chips keyed by relative photo path, invalidated by the file's size and mtime."""

    def __init__(
        self, cache_dir: str | Path | None, root: Path, detector: str, aligned: bool
    ) -> None:
        self.path: Path | None = None
        self.entries: dict[str, tuple[str, np.ndarray | None]] = {}
        self.root = root
        if cache_dir is None:
            return
        mode = "aligned" if aligned else detector
        key = hashlib.sha1(f"{root.resolve()}|{mode}|{CHIP_SIZE}".encode()).hexdigest()[:16]
        self.path = Path(cache_dir) / f"chips-{key}.npz"
        if self.path.is_file():
            self._read(self.path)

    def _read(self, path: Path) -> None:
        try:
            with np.load(path, allow_pickle=False) as data:
                keys, stamps, found, chips = (
                    data["keys"],
                    data["stamps"],
                    data["found"],
                    data["chips"],
                )
        except (OSError, KeyError, ValueError) as exc:
            logger.warning("%s: unreadable chip cache (%s); rebuilding it", path, exc)
            return
        rows = iter(chips)
        for key, stamp, has_face in zip(keys, stamps, found, strict=True):
            self.entries[str(key)] = (str(stamp), next(rows) if has_face else None)
        logger.info("%s: %d cached chips", path, len(self.entries))

    def __contains__(self, key: str) -> bool:
        entry = self.entries.get(key)
        return entry is not None and entry[0] == _stamp(self.root / key)

    def has_face(self, key: str) -> bool:
        return self.entries[key][1] is not None

    def chip(self, key: str) -> np.ndarray:
        chip = self.entries[key][1]
        if chip is None:
            raise KeyError(f"{key}: no face")
        return chip

    def put(self, key: str, path: Path, chip: np.ndarray | None) -> None:
        self.entries[key] = (_stamp(path), chip)

    def save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = sorted(self.entries)
        chips = [self.entries[k][1] for k in keys if self.entries[k][1] is not None]
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(
            tmp,
            keys=np.array(keys, dtype=str),
            stamps=np.array([self.entries[k][0] for k in keys], dtype=str),
            found=np.array([self.entries[k][1] is not None for k in keys], dtype=bool),
            chips=np.stack(chips) if chips else np.zeros((0, CHIP_SIZE, CHIP_SIZE, 3), np.uint8),
        )
        tmp.replace(self.path)
        logger.info("%s: saved %d chips", self.path, len(chips))


def _stamp(path: Path) -> str:
    try:
        stat = path.stat()
    except OSError:
        return "missing"
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def _relative_key(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()


def _common_parts(paths: Sequence[Path]) -> tuple[str, ...]:
    parts = [p.resolve().parent.parts for p in paths]
    common: list[str] = []
    for level in zip(*parts, strict=False):
        if len(set(level)) != 1:
            break
        common.append(level[0])
    return tuple(common) or ("/",)
