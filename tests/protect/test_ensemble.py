"""An ensemble cloak pushes every recognizer it attacks, each in units of its own threshold."""

import pytest
import torch

from facecloak.errors import ModelNotFoundError
from facecloak.evaluate.protection import Judge
from facecloak.models import detect
from facecloak.protect import protect


@pytest.fixture(scope="module")
def mobilefacenet():
    from facecloak.models.mobilefacenet import load_mobilefacenet

    try:
        return load_mobilefacenet()
    except ModelNotFoundError as exc:
        pytest.skip(f"MobileFaceNet weights absent: {exc}")


def test_ensemble_moves_mobilefacenet_further_than_dlib_alone(grace_hopper, mobilefacenet):
    judge = Judge("mobilefacenet", mobilefacenet, attacked=True)
    face = detect(grace_hopper)[0]
    clean = judge.embed(grace_hopper, face)

    def moved(image) -> float:
        return judge.distance(judge.embed(image, detect(image)[0]), clean)

    torch.manual_seed(0)
    alone = protect(grace_hopper, strength="mid", detected=[face]).image
    both = protect(grace_hopper, strength="mid", detected=[face], ensemble=[mobilefacenet])
    assert moved(both.image) > 2 * moved(alone)
    assert both.outcomes[0].protected  # dlib is still beaten
    assert both.outcomes[0].ssim >= 0.98 - 1e-3  # mid preset's floor, over the face box


def test_ensemble_refuses_a_target(grace_hopper, mobilefacenet):
    with pytest.raises(ValueError, match="untargeted"):
        protect(grace_hopper, target=torch.zeros(1, 128), ensemble=[mobilefacenet])
