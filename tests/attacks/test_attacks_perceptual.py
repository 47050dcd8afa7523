import numpy as np
import pytest
import torch

from facecloak.attacks import (
    ClassifierUntargeted,
    EmbeddingTargeted,
    EmbeddingUntargeted,
    Perceptual,
    make_attack,
)
from facecloak.attacks.perceptual import (
    coarse_shape,
    s2_regions,
    scale_to_ssim_floor,
)
from facecloak.ssim import differentiable_ssim


def _embedder() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 24 * 24, 16))


def test_untargeted_reaches_its_goal_within_the_ssim_target() -> None:
    model, crop = _embedder(), torch.rand(1, 3, 24, 24)
    anchor = model(crop).detach()
    attack = Perceptual(model, EmbeddingUntargeted(0.05, anchor=anchor), steps=40)
    result = attack.run(crop, boxes=[(0, 0, 24, 24)])
    assert bool(result.success[0])
    assert result.ssim >= attack.ssim_target
    assert float((result.adversarial - crop).abs().max()) <= attack.eps + 1e-6
    with torch.no_grad():
        distance = torch.linalg.vector_norm(model(result.adversarial) - anchor)
    assert float(distance) >= 0.05


def test_targeted_pulls_toward_the_target() -> None:
    model, crop = _embedder(), torch.rand(1, 3, 24, 24)
    target = model(torch.rand(1, 3, 24, 24)).detach()
    before = torch.linalg.vector_norm(model(crop) - target)
    objective = EmbeddingTargeted(target, threshold=float(before) * 0.9)
    result = Perceptual(model, objective, steps=40, eps=0.2, ssim_target=0.5).run(crop)
    after = torch.linalg.vector_norm(model(result.adversarial) - target)
    assert float(after) < float(before)


def test_mask_zero_keeps_pixels_unchanged() -> None:
    model, crop = _embedder(), torch.rand(1, 3, 24, 24)
    mask = torch.zeros(1, 1, 24, 24)
    mask[..., 8:16, 8:16] = 1
    anchor = model(crop).detach()
    result = Perceptual(model, EmbeddingUntargeted(10.0, anchor=anchor), steps=5).run(
        crop, mask=mask
    )
    outside = (result.adversarial - crop)[..., :8, :]
    assert float(outside.abs().max()) == 0.0


def test_classifier_margin_objective_caps_at_its_goal() -> None:
    objective = ClassifierUntargeted(0, margin=2.0)
    logits = torch.tensor([[5.0, 1.0, 0.0], [0.0, 3.0, 0.5]])
    result = objective(logits)
    assert result.loss.tolist() == [4.0, -3.0]
    assert result.success.tolist() == [False, True]
    assert objective.goal == -2.0


def test_refuses_batches_and_is_registered() -> None:
    model = _embedder()
    attack = make_attack("perceptual", model, EmbeddingUntargeted(anchor=torch.zeros(1, 16)))
    assert isinstance(attack, Perceptual)
    with pytest.raises(ValueError, match="one input at a time"):
        attack.run(torch.rand(2, 3, 24, 24))


def test_scale_to_ssim_floor_and_coarse_grid() -> None:
    crop = torch.rand(1, 3, 32, 32)
    noisy = (crop + 0.3 * torch.randn_like(crop)).clamp(0, 1)
    scale = scale_to_ssim_floor(crop, noisy, [(0, 0, 32, 32)], floor=0.9)
    assert 0.0 < scale < 1.0
    scaled = crop + scale * (noisy - crop)
    assert float(differentiable_ssim(crop, scaled)) >= 0.88
    assert coarse_shape(crop, [[2.0, 0, 0], [0, 2.0, 0]]) == (16, 16)


def test_coarse_shape_follows_the_chip_scale() -> None:
    crop = torch.zeros(1, 3, 400, 300)
    assert coarse_shape(crop, np.array([[4.0, 0, 0], [0, 4.0, 0]])) == (100, 75)
    assert coarse_shape(crop, np.array([[0.5, 0, 0], [0, 0.5, 0]])) == (400, 300)


def test_stops_at_the_goal_before_the_last_step() -> None:
    crop = torch.full((1, 3, 24, 24), 0.5)

    def embed(x: torch.Tensor) -> torch.Tensor:
        return x.mean((2, 3)) * 100.0

    objective = EmbeddingUntargeted(0.5, anchor=embed(crop))
    attack = Perceptual(embed, objective, steps=30, step_size=2 / 255, eps=8 / 255, ssim_target=0.5)
    result = attack.run(crop)
    assert int(result.steps[0]) < 30 and bool(result.success[0])


def test_reports_every_step_to_the_callback() -> None:
    crop = torch.rand(1, 3, 24, 24)
    model = _embedder()
    seen = []
    objective = EmbeddingUntargeted(100.0, anchor=model(crop).detach())
    Perceptual(model, objective, steps=5, callback=seen.append).run(crop)
    assert [info.step for info in seen] == [1, 2, 3, 4, 5] and seen[-1].total == 5


def test_chroma_share_zero_changes_brightness_only() -> None:
    model, crop = _embedder(), torch.rand(1, 3, 24, 24) * 0.5 + 0.25
    anchor = model(crop).detach()
    attack = Perceptual(
        model, EmbeddingUntargeted(10.0, anchor=anchor), steps=10, ssim_target=0.5, chroma_share=0.0
    )
    change = attack.run(crop).adversarial - crop
    # A pure luma change moves R, G and B by the same amount.
    assert float((change[:, 0] - change[:, 1]).abs().max()) < 1e-5
    assert float((change[:, 1] - change[:, 2]).abs().max()) < 1e-5
    assert float(change.abs().max()) > 1e-3


def test_chroma_share_limits_the_colour_change() -> None:
    model, crop = _embedder(), torch.rand(1, 3, 24, 24) * 0.5 + 0.25
    anchor = model(crop).detach()

    def colour_spread(share: float) -> float:
        objective = EmbeddingUntargeted(10.0, anchor=anchor)
        attack = Perceptual(model, objective, steps=10, ssim_target=0.5, chroma_share=share)
        change = attack.run(crop).adversarial - crop
        return float((change - change.mean(1, keepdim=True)).abs().max())

    assert colour_spread(0.25) < 0.5 * colour_spread(1.0)


def test_s2_regions_widen_small_boxes_inside_the_crop() -> None:
    crop = torch.zeros(1, 3, 200, 300)
    small, large = (100, 50, 150, 100), (0, 0, 280, 200)
    assert s2_regions(crop, [small, large]) == [(0, 0, 256, 200), large]


def test_ssim_far_above_its_target_is_measured_every_other_step_with_the_same_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import facecloak.attacks.perceptual as perceptual

    model, crop = _embedder(), torch.rand(1, 3, 24, 24)
    anchor = model(crop).detach()
    calls = []
    measure = perceptual._SSIMSampler.__call__

    def counted(self, cloaked):
        calls.append(1)
        return measure(self, cloaked)

    monkeypatch.setattr(perceptual._SSIMSampler, "__call__", counted)

    def run(target: float) -> torch.Tensor:
        calls.clear()
        objective = EmbeddingUntargeted(100.0, anchor=anchor)  # never met: every step runs
        attack = Perceptual(model, objective, steps=10, eps=1 / 255, ssim_target=target)
        attack.generator = torch.Generator().manual_seed(0)
        return attack.run(crop).adversarial

    far = run(0.5)  # a 1/255 change keeps SSIM near 1: 0.5 below it
    assert len(calls) == 5
    monkeypatch.setattr(perceptual, "SSIM_SKIP_GAP", float("inf"))
    assert torch.equal(run(0.5), far) and len(calls) == 10
    monkeypatch.setattr(perceptual, "SSIM_SKIP_GAP", 0.02)
    run(0.9999)  # within the gap: every step
    assert len(calls) == 10
