from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from facecloak.datasets import read_labelled_folder
from facecloak.errors import FacecloakError
from facecloak.evaluate.identification import miss_rate, nearest_identities, rank1_hits


def test_nearest_identity_and_distance() -> None:
    gallery = torch.tensor([[0.0, 0.0], [3.0, 4.0]])
    names, distances = nearest_identities(torch.tensor([[3.0, 3.0]]), gallery, ["a", "b"])
    assert names == ["b"] and distances.tolist() == pytest.approx([1.0])


def test_miss_rate_counts_protected_probes() -> None:
    gallery = torch.tensor([[0.0], [10.0]])
    hits = rank1_hits(torch.tensor([[1.0], [9.0], [8.0]]), ["a", "a", "b"], gallery, ["a", "b"])
    assert hits == [True, False, True]
    assert miss_rate(hits) == pytest.approx(1 / 3)


def test_empty_gallery_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        nearest_identities(torch.zeros(1, 2), torch.zeros(0, 2), [])


def _photo(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.zeros((4, 4, 3), dtype=np.uint8)).save(path)


def test_folder_per_identity(tmp_path: Path) -> None:
    for name in ("bob/1.jpg", "bob/2.png", "amy/1.jpg"):
        _photo(tmp_path / name)
    (tmp_path / "amy" / "notes.txt").write_text("not a photo")
    photos = read_labelled_folder(tmp_path)
    assert [(p.identity, p.path.name) for p in photos] == [
        ("amy", "1.jpg"),
        ("bob", "1.jpg"),
        ("bob", "2.png"),
    ]
    assert [p.identity for p in read_labelled_folder(tmp_path, min_per_identity=2)] == ["bob"] * 2


def test_labels_csv_wins_and_missing_photos_are_named(tmp_path: Path) -> None:
    _photo(tmp_path / "x.jpg")
    (tmp_path / "labels.csv").write_text("path,identity\nx.jpg,carol\n")
    assert read_labelled_folder(tmp_path)[0].identity == "carol"
    (tmp_path / "labels.csv").write_text("path,identity\nx.jpg,carol\ny.jpg,dan\n")
    with pytest.raises(FacecloakError, match=r"y\.jpg"):
        read_labelled_folder(tmp_path)


def test_empty_folder_says_what_is_needed(tmp_path: Path) -> None:
    with pytest.raises(FacecloakError, match=r"labels\.csv"):
        read_labelled_folder(tmp_path)


def test_real_lfw_folder_reads(shared_faces: Path) -> None:
    photos = read_labelled_folder(shared_faces / "lfw", min_per_identity=10)
    assert len({p.identity for p in photos}) >= 30
