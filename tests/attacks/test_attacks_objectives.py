"""Objectives: loss signs, success flags, per-sample rows, faces, feature space."""

from __future__ import annotations

import pytest
import torch

from facecloak.attacks import (
    ClassifierTargeted,
    ClassifierUntargeted,
    EmbeddingTargeted,
    EmbeddingUntargeted,
)


def unit(*values: float) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32)


CLEAN = torch.stack([unit(0, 0), unit(10, 0)])


def test_untargeted_uses_the_nearest_reference():
    references = torch.stack([unit(1.0, 0), unit(10, 0.5)])  # shared by both samples
    objective = EmbeddingUntargeted(threshold=0.6, margin=0.1, references=references)
    moved = torch.stack([unit(0, 0.8), unit(10, -0.8)])
    result = objective(moved, CLEAN)
    # Sample 0: clean at 0.8, reference at ~1.28 -> 0.8. Sample 1: clean 0.8, ref 1.3 -> 0.8.
    assert torch.allclose(result.loss, -torch.full((2,), 0.8), rtol=0, atol=1e-5)
    assert result.success.tolist() == [True, True]
    near_reference = torch.stack([unit(0.6, 0), unit(10, 0.8)])
    assert objective(near_reference, CLEAN).success.tolist() == [False, False]


def test_untargeted_per_sample_references_follow_the_index():
    references = torch.stack([unit(0, 5).unsqueeze(0), unit(10, 0.2).unsqueeze(0)])  # (2, 1, 2)
    objective = EmbeddingUntargeted(threshold=0.6, references=references)
    output = unit(10, 1.0).unsqueeze(0)  # sample 1 only
    result = objective(output, CLEAN[1:], index=torch.tensor([1]))
    assert torch.allclose(result.loss, -torch.tensor([0.8]), rtol=0, atol=1e-5)


def test_untargeted_gradient_is_finite_at_the_clean_point():
    output = CLEAN.clone().requires_grad_(True)
    EmbeddingUntargeted()(output, CLEAN).loss.sum().backward()
    assert output.grad is not None
    assert bool(torch.isfinite(output.grad).all())


def test_targeted_centroid_and_all_modes():
    targets = torch.stack([unit(1, 0), unit(-1, 0)])
    output = unit(0, 0.3).unsqueeze(0)
    centroid = EmbeddingTargeted(targets, threshold=0.6, mode="centroid")(output)
    every = EmbeddingTargeted(targets, threshold=0.6, mode="all")(output)
    assert torch.allclose(centroid.loss, torch.tensor([0.3]), rtol=0, atol=1e-5)
    assert centroid.success.tolist() == [True]
    assert every.success.tolist() == [False]  # each target is ~1.04 away
    assert float(every.loss) == pytest.approx((1 + 0.09) ** 0.5, abs=1e-5)


def test_targeted_margin_is_strict():
    objective = EmbeddingTargeted(unit(0, 0), threshold=0.6, margin=0.1)
    assert objective(unit(0.45, 0).unsqueeze(0)).success.tolist() == [True]
    assert objective(unit(0.55, 0).unsqueeze(0)).success.tolist() == [False]


def test_several_faces_per_sample_must_all_succeed():
    clean = torch.zeros(1, 2, 2)  # one photo, two faces
    output = torch.tensor([[[1.0, 0.0], [0.1, 0.0]]])
    result = EmbeddingUntargeted(threshold=0.6)(output, clean)
    assert result.success.tolist() == [False]
    assert torch.allclose(result.loss, torch.tensor([-0.55]), rtol=0, atol=1e-5)


def test_feature_space_terms_from_a_dict_output():
    clean = {"hidden": torch.zeros(2, 4, 3, 3), "embedding": CLEAN}
    output = {"hidden": torch.ones(2, 4, 3, 3), "embedding": CLEAN}
    features_only = EmbeddingUntargeted(feature_weights={"hidden": 2.0})
    result = features_only(output, clean)
    assert torch.allclose(result.loss, -2.0 * torch.ones(2), rtol=0, atol=1e-5)
    assert result.success.tolist() == [False, False]  # judged on the unmoved embedding


def test_feature_space_targeting_needs_the_target_features():
    output = [torch.ones(1, 4), unit(0, 0).unsqueeze(0)]
    target_output = [torch.zeros(3, 4), torch.zeros(3, 2)]
    objective = EmbeddingTargeted(target_output, feature_weights={0: 1.0, -1: 1.0})
    assert torch.allclose(objective(output).loss, torch.ones(1), rtol=0, atol=1e-5)
    with pytest.raises(TypeError, match="target's features"):
        EmbeddingTargeted(torch.zeros(3, 2), feature_weights={0: 1.0})(output)
    with pytest.raises(TypeError, match="single tensor"):
        EmbeddingUntargeted(feature_weights={"hidden": 1.0})(CLEAN, CLEAN)


def test_classifier_objectives():
    logits = torch.tensor([[3.0, 0.0, 0.0], [0.0, 3.0, 0.0]])
    untargeted = ClassifierUntargeted(torch.tensor([0, 0]))(logits)
    assert untargeted.success.tolist() == [False, True]
    assert float(untargeted.loss[0]) > float(untargeted.loss[1])  # the fooled one is lower
    targeted = ClassifierTargeted(1)(logits)
    assert targeted.success.tolist() == [False, True]
    assert float(targeted.loss[1]) < float(targeted.loss[0])
    rows = ClassifierTargeted([2, 1, 0])(logits[:1], index=torch.tensor([2]))
    assert rows.success.tolist() == [True]


def test_untargeted_anchor_replaces_the_clean_output():
    objective = EmbeddingUntargeted(threshold=0.6, anchor=CLEAN)
    assert not objective.uses_clean_output
    moved = torch.stack([unit(0, 0.8), unit(10, -0.3)])
    result = objective(moved, None)
    assert torch.allclose(result.loss, -torch.tensor([0.8, 0.3]), rtol=0, atol=1e-5)
    assert result.success.tolist() == [True, False]
    picked = objective(moved[1:], None, index=torch.tensor([1]))
    assert torch.allclose(picked.loss, -torch.tensor([0.3]), rtol=0, atol=1e-5)
    with pytest.raises(ValueError, match="anchor"):
        EmbeddingUntargeted(anchor=CLEAN, feature_weights={"conv": 1.0})
