from __future__ import annotations

from pathlib import Path

import torch

from facecloak.datasets import LabelledPhoto
from facecloak.errors import FacecloakError
from facecloak.evaluate.gallery import clean_embeddings, evaluate_each
from facecloak.faces import Face


def test_one_photo_that_fails_is_counted_and_the_others_go_on() -> None:
    photos = [LabelledPhoto(Path(f"{name}.png"), "x") for name in ("a", "bad", "c")]
    face = Face(box=(0.0, 0.0, 10.0, 10.0), score=1.0)
    clean = {photo: (torch.zeros(4), face) for photo in photos}

    def evaluate_one(photo, face, embedding, keep_image):
        if photo.path.stem == "bad":
            raise FacecloakError(f"{photo.path}: could not be protected")
        return photo.path.stem

    failed: list[str] = []
    assert evaluate_each(clean, evaluate_one, 1, failed, "test") == ["a", "c"]
    assert failed == ["bad.png: could not be protected"]


def test_an_unreadable_photo_is_left_out_of_the_gallery(tmp_path: Path) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a photo")
    clean, skipped, failed = clean_embeddings([LabelledPhoto(broken, "x")], "centerface", None)
    assert clean == {} and skipped == [] and len(failed) == 1 and str(broken) in failed[0]
