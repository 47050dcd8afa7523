"""`protect(classifier=...)` and `protect --model`: the cloak fools a trained classifier."""

import json

import pytest
import torch

from facecloak.classify import load_classifier
from facecloak.cli import main
from facecloak.faces.align import face_chips
from facecloak.models import detect
from facecloak.protect import PRESETS, ProtectConfig, protect


@pytest.fixture(scope="module")
def classifier(trained):
    return load_classifier(trained.output)


def test_untargeted_cloak_changes_the_class_within_the_floor(grace_hopper, classifier):
    result = protect(grace_hopper, ProtectConfig(classifier=classifier, strength="high"))
    face = result.classified[0]
    assert face.before != face.after
    assert face.protected
    assert face.ssim >= PRESETS["high"].ssim_floor - 1e-3


def test_targeted_cloak_reaches_the_named_class(grace_hopper, classifier):
    # The runner-up class: a tiny model trained on generated chips is very sure of itself on a
    # real face, so a far-away class needs more than the high preset's budget.
    chips = face_chips(grace_hopper, detect(grace_hopper))
    with torch.no_grad():
        runner_up = int(classifier(chips)[0].argsort()[-2])
    target = classifier.class_names[runner_up]
    config = ProtectConfig(classifier=classifier, target_class=target, strength="high")
    result = protect(grace_hopper, config)
    assert result.classified[0].after == target
    assert result.classified[0].protected


def test_cli_protect_with_a_model_reports_the_classes(grace_hopper_path, trained, tmp_path, capsys):
    code = main(
        [
            "protect", str(grace_hopper_path), "-o", str(tmp_path / "out"),
            "--model", str(trained.output), "--strength", "high", "--json",
        ]
    )  # fmt: skip
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    classified = report["photos"][0]["faces_classified"]
    assert classified[0]["protected"] is True


def test_target_class_without_a_classifier_is_refused(grace_hopper):
    with pytest.raises(ValueError, match="classifier"):
        ProtectConfig(target_class="someone")
