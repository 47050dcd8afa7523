"""The photos a detection evaluation reads: a folder of images and its hand-labelled face boxes.

Example:
    >>> photo = DetectionPhoto(Path("a.jpg"), "a.jpg", truth=())
    >>> photo.labelled  # labelled with no box: known to hold no face
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from facecloak.errors import FacecloakError
from facecloak.evaluate.detection import read_box_labels
from facecloak.geometry import Box
from facecloak.images import IMAGE_SUFFIXES


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
