"""MAX78000 FaceID: the smooth (differentiable) form against the device's integer form."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from facecloak.errors import ModelNotFoundError
from facecloak.models import detect, load_recognizer
from facecloak.models.adi_faceid import FaceID, FaceIDFormatError, window_placement
from facecloak.models.recognizer import rgb_to_tensor, shared_weights


@pytest.fixture(scope="module")
def faceid() -> FaceID:
    try:
        return load_recognizer("adi_faceid")
    except ModelNotFoundError as exc:
        pytest.skip(f"FaceID weights absent: {exc}")


@pytest.fixture(scope="module")
def public_chips(faceid: FaceID, astronaut: np.ndarray, grace_hopper: np.ndarray) -> torch.Tensor:
    return torch.cat(
        [faceid.align(rgb_to_tensor(rgb), detect(rgb)) for rgb in (astronaut, grace_hopper)]
    )


def test_smooth_form_is_close_to_the_integer_form(
    faceid: FaceID, public_chips: torch.Tensor
) -> None:
    exact = faceid.integer_form()
    with torch.no_grad():
        cosine = (faceid(public_chips) * exact(public_chips)).sum(dim=1)
    assert exact.exact and not faceid.exact
    assert float(cosine.min()) > 0.95


def test_integer_form_is_exact_arithmetic(faceid: FaceID, public_chips: torch.Tensor) -> None:
    """Integer activations: float32 and float64 runs agree to rounding of the final norm."""
    exact = faceid.integer_form()
    with torch.no_grad():
        single = exact(public_chips)
        double = exact.double()(public_chips.double())
    torch.testing.assert_close(single.double(), double, atol=1e-6, rtol=0)


def test_only_the_smooth_form_has_a_useful_gradient(
    faceid: FaceID, public_chips: torch.Tensor
) -> None:
    for model, expect_gradient in ((faceid, True), (faceid.integer_form(), False)):
        chips = public_chips.clone().requires_grad_()
        model(chips).sum().backward()
        assert (float(chips.grad.abs().sum()) > 0) == expect_gradient


def test_the_float_checkpoint_is_refused() -> None:
    path = shared_weights("adi_faceid", "ai85-faceid-qat8.pth.tar")
    if not path.is_file():
        pytest.skip(f"FaceID float checkpoint absent at {path}")
    with pytest.raises(FaceIDFormatError, match="not int8"):
        FaceID.load(path)


def test_a_file_that_is_no_checkpoint_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "faceid.pth.tar"
    torch.save({"state_dict": {"conv1.op.weight": torch.zeros(16, 3, 3, 3)}}, path)
    with pytest.raises(FaceIDFormatError, match="not a quantised ai85faceidnet"):
        FaceID.load(path)


def test_placement_centres_the_face_box_in_the_window() -> None:
    place = window_placement(face_width=125.0)
    box = np.array([[12.6, 8.5, 1.0], [99.4, 120.8, 1.0]]) @ place.T
    assert box[1, 0] - box[0, 0] == pytest.approx(125.0)
    assert box[:, 0].mean() == pytest.approx(59.5) and box[:, 1].mean() == pytest.approx(79.5)
