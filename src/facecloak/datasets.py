"""Labelled photo folders: ``labels.csv`` (``path,identity``) or one sub-folder per identity.

Example:
    >>> photos = read_labelled_folder("faces/")  # doctest: +SKIP
    >>> photos[0]  # doctest: +SKIP
    LabelledPhoto(path=PosixPath('faces/alice/1.jpg'), identity='alice')
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from facecloak.errors import FacecloakError
from facecloak.images import IMAGE_SUFFIXES


@dataclass(frozen=True)
class LabelledPhoto:
    path: Path
    identity: str


def read_labelled_folder(folder: str | Path, min_per_identity: int = 1) -> list[LabelledPhoto]:
    """Every labelled photo of ``folder``, sorted by identity then path.

    ``labels.csv`` wins when present (paths relative to the folder); otherwise each sub-folder is
    an identity and holds its photos. Identities with fewer than ``min_per_identity`` photos are
    left out.

    Raises:
        FacecloakError: the folder is missing, a listed photo is missing, or nothing is labelled.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FacecloakError(f"{folder}: not a folder; give a folder of labelled photos")
    labels = folder / "labels.csv"
    photos = _from_csv(folder, labels) if labels.is_file() else _from_subfolders(folder)
    counts = Counter(photo.identity for photo in photos)
    photos = [p for p in photos if counts[p.identity] >= min_per_identity]
    if not photos:
        raise FacecloakError(
            f"{folder}: no labelled photos (need labels.csv with path,identity or one sub-folder "
            f"per identity, with at least {min_per_identity} photo(s) each)"
        )
    return sorted(photos, key=lambda p: (p.identity, str(p.path)))


def _from_csv(folder: Path, labels: Path) -> list[LabelledPhoto]:
    try:
        with open(labels, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames or not {"path", "identity"} <= set(reader.fieldnames):
                raise FacecloakError(f"{labels}: needs the columns path,identity")
            rows = [(row["path"], row["identity"]) for row in reader]
    except (UnicodeDecodeError, csv.Error, OSError) as exc:
        raise FacecloakError(
            f"{labels}: not a readable UTF-8 CSV file ({exc}); write it as path,identity lines "
            "or remove it to label by sub-folder"
        ) from exc
    if any(not path or not identity for path, identity in rows):
        raise FacecloakError(f"{labels}: a line lacks its path or identity; fill every line")
    photos = [LabelledPhoto(folder / path, identity) for path, identity in rows]
    missing = [str(p.path) for p in photos if not p.path.is_file()]
    if missing:
        raise FacecloakError(f"{labels}: {len(missing)} listed photo(s) missing, e.g. {missing[0]}")
    return photos


def _from_subfolders(folder: Path) -> list[LabelledPhoto]:
    return [
        LabelledPhoto(path, identity.name)
        for identity in sorted(p for p in folder.iterdir() if p.is_dir())
        for path in sorted(identity.iterdir())
        if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES
    ]
