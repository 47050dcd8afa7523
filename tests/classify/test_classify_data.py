"""Chip sets: splitting, selecting identities, the chip cache and augmentation."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from facecloak.classify import ChipSet, load_chip_set, split_per_identity
from facecloak.classify import data as data_module
from facecloak.classify.augment import augment_batch
from facecloak.classify.data import pick_face
from facecloak.errors import FacecloakError
from facecloak.faces.face import Face


def write_labelled_folder(folder: Path, chips: ChipSet, with_csv: bool) -> Path:
    rows = []
    for index, (chip, label) in enumerate(zip(chips.chips, chips.labels, strict=True)):
        name = chips.class_names[int(label)]
        relative = Path(name) / f"{index}.png"
        (folder / name).mkdir(parents=True, exist_ok=True)
        Image.fromarray(chip.permute(1, 2, 0).numpy()).save(folder / relative)
        rows.append({"path": relative.as_posix(), "identity": name})
    if with_csv:
        with open(folder / "labels.csv", "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=["path", "identity"])
            writer.writeheader()
            writer.writerows(rows)
    return folder


def test_split_holds_out_a_share_of_every_identity(chip_set: ChipSet) -> None:
    kept, held = split_per_identity(chip_set, fraction=0.25, seed=3)
    assert len(kept) + len(held) == len(chip_set)
    assert set(held.counts().values()) == {4}
    assert not set(kept.paths) & set(held.paths)
    again_kept, _ = split_per_identity(chip_set, fraction=0.25, seed=3)
    assert again_kept.paths == kept.paths


def test_split_by_count_keeps_one_chip_per_identity(chip_set: ChipSet) -> None:
    kept, held = split_per_identity(chip_set.subset([0, 1, 16, 17, 18]), count=5)
    assert len(kept) == 2 and len(held) == 3
    with pytest.raises(ValueError, match="exactly one"):
        split_per_identity(chip_set)


def test_select_identities_relabels_in_name_order(chip_set: ChipSet) -> None:
    chosen = chip_set.select_identities(["person_3", "person_1"])
    assert chosen.class_names == ["person_1", "person_3"]
    assert sorted(chosen.labels.unique().tolist()) == [0, 1]
    pairs = zip(chosen.paths, chosen.labels.tolist(), strict=True)
    assert all(path.startswith("person_1/") for path, label in pairs if label == 0)
    with pytest.raises(ValueError, match="unknown"):
        chip_set.select_identities(["nobody"])


@pytest.mark.parametrize("with_csv", [True, False])
def test_load_chip_set_reads_aligned_folders_and_caches_chips(
    chip_set: ChipSet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, with_csv: bool
) -> None:
    small = chip_set.subset(list(range(0, len(chip_set), 8)))
    folder = write_labelled_folder(tmp_path / "faces", small, with_csv)
    cache = tmp_path / "cache"
    first = load_chip_set(folder, cache_dir=cache, aligned=True, progress=False)
    assert first.class_names == small.class_names and len(first) == len(small)
    assert torch.equal(first.chips.sort(0).values, small.chips.sort(0).values)
    assert len(list(cache.glob("chips-*.npz"))) == 1

    def no_extraction(*args, **kwargs):
        raise AssertionError("chips should come from the cache")

    monkeypatch.setattr(data_module, "_photo_chip", no_extraction)
    second = load_chip_set(folder, cache_dir=cache, aligned=True, progress=False)
    assert torch.equal(second.chips, first.chips) and second.paths == first.paths


def test_load_chip_set_needs_two_identities(chip_set: ChipSet, tmp_path: Path) -> None:
    folder = write_labelled_folder(tmp_path / "faces", chip_set.subset([0, 1, 2]), True)
    with pytest.raises(FacecloakError, match="at least 2 identities"):
        load_chip_set(folder, aligned=True, progress=False)


def test_photos_without_a_face_are_left_out(tmp_path: Path) -> None:
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        Image.fromarray(np.full((120, 120, 3), 128, np.uint8)).save(tmp_path / name / "x.png")
    with pytest.raises(FacecloakError, match="no face found"):
        load_chip_set(tmp_path, detector="hog", progress=False)


def test_pick_face_by_centre_or_size() -> None:
    big_corner = Face(box=(0, 0, 60, 60), score=1.0)
    small_centre = Face(box=(40, 40, 60, 60), score=1.0)
    assert pick_face([big_corner, small_centre], 100, 100) is small_centre
    assert pick_face([big_corner, small_centre], 100, 100, how="largest") is big_corner
    assert pick_face([], 100, 100) is None


def test_augmentation_keeps_shape_and_range_and_is_seeded() -> None:
    images = torch.rand(6, 3, 32, 32)
    a = augment_batch(images, torch.Generator().manual_seed(1))
    b = augment_batch(images, torch.Generator().manual_seed(1))
    assert a.shape == images.shape and torch.equal(a, b)
    assert float(a.min()) >= 0 and float(a.max()) <= 1
    assert not torch.equal(a, images)
    unchanged = augment_batch(images, torch.Generator(), flip=False, min_scale=1.0, max_shift=0)
    torch.testing.assert_close(unchanged, images, atol=1e-5, rtol=0)
