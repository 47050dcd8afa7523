"""Training, saving, reloading and attacking classifiers on generated identities."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from facecloak.attacks import PGD, ClassifierTargeted, ClassifierUntargeted
from facecloak.classify import (
    ChipSet,
    TrainConfig,
    TrainResult,
    evaluate_accuracy,
    load_classifier,
    save_classifier,
    split_per_identity,
    train_classifier,
    training_info,
)
from facecloak.classify.checkpoint import read_checkpoint


def test_training_lowers_the_loss_and_beats_chance(trained: TrainResult, chip_set: ChipSet) -> None:
    losses = [stats.train_loss for stats in trained.history]
    assert losses[-1] < 0.6 * losses[0]
    chance = 1 / chip_set.num_classes
    assert trained.best_val_accuracy is not None and trained.best_val_accuracy > 2 * chance
    assert len(trained.history) == 8 and 1 <= trained.best_epoch <= 8


def test_best_epoch_is_the_one_kept(trained: TrainResult, chip_set: ChipSet) -> None:
    _, val = split_per_identity(chip_set, fraction=0.25, seed=0)
    assert evaluate_accuracy(trained.model, val) == pytest.approx(trained.best_val_accuracy)


def test_saved_model_reloads_and_classifies_identically(
    trained: TrainResult, chip_set: ChipSet, tmp_path
) -> None:
    path = tmp_path / "again.pt"
    save_classifier(trained.model, path, trained.record())
    loaded = load_classifier(path)
    chips = chip_set.float_chips()
    with torch.no_grad():
        torch.testing.assert_close(loaded(chips), trained.model(chips))
    assert loaded.class_names == chip_set.class_names
    assert (loaded.input_size, loaded.image_size, loaded.arch) == (150, 32, "small-cnn")
    assert not loaded.training and not any(p.requires_grad for p in loaded.parameters())
    assert training_info(path)["best_epoch"] == trained.best_epoch


def test_training_saves_the_best_checkpoint_with_preprocessing(trained: TrainResult) -> None:
    payload = read_checkpoint(_saved_path(trained))
    assert payload["arch"] == "small-cnn" and payload["image_size"] == 32
    assert len(payload["mean"]) == 3 and payload["std"] > 0
    assert payload["training"]["config"]["epochs"] == 8


def test_targeted_attack_reaches_its_target(trained: TrainResult, chip_set: ChipSet) -> None:
    model = load_classifier(_saved_path(trained))
    chips = chip_set.float_chips(torch.tensor([0, 20, 40, 60]))
    labels = model(chips).argmax(1)
    targets = (labels + 1) % chip_set.num_classes
    attack = PGD(
        model,
        ClassifierTargeted(targets),
        eps=48 / 255,
        steps=40,
        step_size=4 / 255,
        early_stop=True,
    )
    result = attack.run(chips)
    assert bool(result.success.all())
    with torch.no_grad():
        assert torch.equal(model(result.adversarial).argmax(1), targets)
    assert float((result.adversarial - chips).abs().max()) <= 48 / 255 + 1e-6


def test_untargeted_attack_changes_the_identity(trained: TrainResult, chip_set: ChipSet) -> None:
    model = trained.model
    chips = chip_set.float_chips(torch.tensor([1, 21]))
    labels = model(chips).argmax(1)
    attack = PGD(model, ClassifierUntargeted(labels), eps=48 / 255, steps=40, early_stop=True)
    result = attack.run(chips)
    assert bool(result.success.all())


def test_resnet18_trains_a_step(chip_set: ChipSet) -> None:
    config = TrainConfig(arch="resnet18", epochs=1, image_size=32, batch_size=16)
    result = train_classifier(chip_set, None, config, progress=False)
    assert result.best_epoch == 1 and result.best_val_accuracy is None
    assert torch.isfinite(torch.tensor(result.history[0].train_loss))
    with torch.no_grad():
        assert result.model(chip_set.float_chips()[:2]).shape == (2, chip_set.num_classes)


def test_dlib_head_saves_only_its_head_and_reloads_end_to_end(chip_set: ChipSet, tmp_path) -> None:
    small = chip_set.subset(list(range(0, len(chip_set), 4)))
    path = tmp_path / "dlib.pt"
    config = TrainConfig(arch="dlib-head", epochs=3, batch_size=8)
    result = train_classifier(small, None, config, output=path, progress=False)
    payload = read_checkpoint(path)
    assert not any(key.startswith("backbone.") for key in payload["state_dict"])
    loaded = load_classifier(path)
    chips = small.float_chips()[:3]
    with torch.no_grad():
        torch.testing.assert_close(loaded(chips), result.model(chips))
    chips.requires_grad_(True)
    loaded(chips).sum().backward()
    assert chips.grad is not None and float(chips.grad.abs().sum()) > 0


def test_config_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="unknown architecture"):
        TrainConfig(arch="vgg").resolved()
    with pytest.raises(ValueError, match="150"):
        TrainConfig(arch="dlib-head", image_size=64).resolved()
    assert TrainConfig(arch="resnet18").resolved().image_size == 64


def _saved_path(trained: TrainResult) -> Path:
    assert trained.output is not None
    return trained.output
