"""The detector contract, over every registered detector: threshold in one place, scores at or
above it, and differentiable dense scores where a detector says it has them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from facecloak.errors import InvalidOptionError, ModelNotFoundError
from facecloak.imaging import to_batch
from facecloak.models.detector import DETECTOR_CLASSES, FaceDetector
from facecloak.models.detectors import DETECTORS, get_detector


def _detector_or_skip(name: str) -> FaceDetector:
    detector = get_detector(name)
    try:
        detector(np.zeros((32, 32, 3), np.uint8))
    except ModelNotFoundError as exc:
        pytest.skip(f"{name} unavailable here: {exc}")
    return detector


def test_the_registry_is_every_registered_class() -> None:
    assert DETECTORS == DETECTOR_CLASSES
    assert list(DETECTORS)[:3] == ["hog", "cnn", "centerface"]


@pytest.mark.parametrize("name", sorted(DETECTORS))
def test_reported_faces_score_at_least_the_threshold(name: str, astronaut: np.ndarray) -> None:
    detector = _detector_or_skip(name)
    faces = detector(astronaut)
    assert faces and all(face.score >= detector.threshold for face in faces)
    assert all(face.detector == name for face in faces)


@pytest.mark.parametrize("name", sorted(n for n, cls in DETECTORS.items() if cls.differentiable))
def test_differentiable_detectors_give_gradients_to_the_photo(
    name: str, astronaut: np.ndarray
) -> None:
    detector = _detector_or_skip(name)
    photo = to_batch(astronaut[:256, 128:384].copy()).requires_grad_(True)
    candidates = detector.face_candidates(photo)
    assert candidates.threshold == detector.threshold
    assert float(candidates.scores.max()) >= detector.threshold  # the face is there
    candidates.scores.max().backward()
    assert photo.grad is not None and bool(photo.grad.abs().sum() > 0)


@pytest.mark.parametrize(
    "name", sorted(n for n, cls in DETECTORS.items() if not cls.differentiable)
)
def test_other_detectors_say_they_are_not_differentiable(name: str) -> None:
    with pytest.raises(NotImplementedError, match=name):
        get_detector(name).face_candidates(torch.zeros(1, 3, 32, 32))


def test_an_unknown_detector_is_a_one_line_error() -> None:
    with pytest.raises(InvalidOptionError, match="detector='sphinx' is not known: choose from hog"):
        get_detector("sphinx")


def test_the_listing_says_where_each_detector_is_and_whether_it_is_differentiable() -> None:
    from facecloak.models.detectors import DETECTOR_FILES, differentiable_detectors

    for name, entry in DETECTOR_FILES.items():
        cls = DETECTORS[name]
        assert cls.__module__ == f"facecloak.models.{entry.module}"
        assert cls.differentiable == entry.differentiable
    assert set(differentiable_detectors()) == {n for n, c in DETECTORS.items() if c.differentiable}


def test_listing_detectors_and_running_centerface_import_neither_torch_nor_onnx() -> None:
    import subprocess
    import sys

    script = (
        "import sys, numpy as np\n"
        "from facecloak.models.detectors import DETECTORS, get_detector, differentiable_detectors\n"
        "assert 'centerface' in DETECTORS and len(list(DETECTORS)) >= 7\n"
        "differentiable_detectors()\n"
        "get_detector('centerface')(np.zeros((64, 64, 3), np.uint8))\n"
        "print(sorted(m for m in ('torch', 'onnx') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
