"""Behaviour every attack shares: budget, mask, bookkeeping, options, side effects."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from facecloak.attacks import (
    ATTACKS,
    PGD,
    ClassifierTargeted,
    EmbeddingTargeted,
    EmbeddingUntargeted,
    RandomJPEG,
    StepInfo,
    make_attack,
)

ALL = sorted(name for name, attack in ATTACKS.items() if attack.batched)
EPS = 8 / 255


def attack(name: str, model, objective, **kw):
    """An attack with small test settings; FGVM variants get an eps so budgets can be checked."""
    options = {"eps": EPS, "steps": 5, "step_size": 2 / 255, **kw}
    return make_attack(name, model, objective, **options)


def embedding_distance(model, x_adv, x) -> torch.Tensor:
    with torch.no_grad():
        return (model(x_adv) - model(x)).norm(dim=1)


def targeted_embedding(model, images) -> EmbeddingTargeted:
    """Each image's target: the embedding of the next image, per sample."""
    with torch.no_grad():
        targets = model(images.roll(1, dims=0))
    return EmbeddingTargeted(targets.unsqueeze(1), threshold=1e-3)


@pytest.mark.parametrize("name", ALL)
def test_stays_in_budget_and_range(name, embedder, images):
    result = attack(name, embedder, EmbeddingUntargeted()).run(images)
    delta = result.adversarial - images
    assert result.adversarial.shape == images.shape
    assert result.adversarial.dtype == images.dtype
    assert not result.adversarial.requires_grad
    assert float(delta.abs().max()) <= EPS + 1e-6
    assert float(result.adversarial.min()) >= 0.0
    assert float(result.adversarial.max()) <= 1.0
    assert result.steps.tolist() == [5] * len(images)
    assert result.loss.shape == result.success.shape == (len(images),)


@pytest.mark.parametrize("name", ALL)
def test_hard_mask_blocks_every_change_outside(name, embedder, images):
    mask = torch.zeros(1, 1, *images.shape[-2:])
    mask[..., 4:12, 4:12] = 1.0
    x_adv = attack(name, embedder, EmbeddingUntargeted(), random_start=True)(images, mask=mask)
    change = (x_adv - images).abs()
    assert float(change[..., mask[0, 0] == 0].max()) == 0.0
    assert float(change[..., mask[0, 0] > 0].max()) > 0.0


@pytest.mark.parametrize("name", ALL)
def test_soft_mask_scales_the_budget(name, embedder, images):
    mask = torch.full(images.shape[-2:], 0.25)
    x_adv = attack(name, embedder, EmbeddingUntargeted(), mask=mask)(images)
    assert float((x_adv - images).abs().max()) <= 0.25 * EPS + 1e-6


@pytest.mark.parametrize("name", ALL)
def test_untargeted_pushes_embeddings_away(name, embedder, images):
    x_adv = attack(name, embedder, EmbeddingUntargeted(), steps=8)(images)
    attacked = embedding_distance(embedder, x_adv, images)
    # Random signs of the same L-inf size barely move the embedding in comparison.
    size = (x_adv - images).abs().amax(dim=(1, 2, 3), keepdim=True)
    noise = size * torch.randn(images.shape, generator=torch.Generator().manual_seed(0)).sign()
    random = embedding_distance(embedder, (images + noise).clamp(0, 1), images)
    assert bool((attacked > 2 * random).all())


@pytest.mark.parametrize("name", ALL)
def test_targeted_reaches_the_target_class(name, classifier, labelled_images):
    images, labels = labelled_images
    targets = (labels + 1) % 3
    options = {"eps": 16 / 255, "steps": 10, "step_size": 4 / 255}
    if name == "pfgvm":
        options["lam"] = 5.0
    result = make_attack(name, classifier, ClassifierTargeted(targets), **options).run(images)
    assert bool(result.success.all())
    with torch.no_grad():
        assert torch.equal(classifier(result.adversarial).argmax(1), targets)


@pytest.mark.parametrize("name", ALL)
def test_targeted_embedding_gets_closer(name, embedder, images):
    objective = targeted_embedding(embedder, images)
    before = objective(embedder(images).detach()).loss
    result = attack(name, embedder, objective).run(images)
    assert bool((result.loss < 0.75 * before).all())


@pytest.mark.parametrize("name", ALL)
def test_early_stop_stops_succeeded_samples(name, classifier, labelled_images):
    images, labels = labelled_images
    objective = ClassifierTargeted((labels + 1) % 3)
    calls: list[StepInfo] = []
    options = {"eps": 16 / 255, "steps": 30, "step_size": 4 / 255}
    if name == "pfgvm":
        options["lam"] = 5.0
    full = make_attack(name, classifier, objective, **options).run(images)
    early = make_attack(
        name, classifier, objective, early_stop=True, callback=calls.append, **options
    )
    result = early.run(images)
    assert bool(result.success.all())
    assert bool((result.steps < 30).all())
    assert len(calls) < 30
    assert not bool(calls[-1].active.any())
    assert full.steps.tolist() == [30] * len(images)


@pytest.mark.parametrize("name", ALL)
def test_momentum_runs_and_changes_the_result(name, embedder, images):
    objective = targeted_embedding(embedder, images)
    plain = attack(name, embedder, objective)(images)
    with_momentum = attack(name, embedder, objective, momentum=0.9)(images)
    assert float((with_momentum - images).abs().max()) <= EPS + 1e-6
    assert not torch.allclose(plain, with_momentum)


@pytest.mark.parametrize("name", ALL)
def test_input_diversity_runs_and_changes_the_result(name, embedder, images):
    objective = targeted_embedding(embedder, images)
    plain = attack(name, embedder, objective)(images)
    generator = torch.Generator().manual_seed(0)
    diverse = attack(name, embedder, objective, diversity_prob=1.0, generator=generator)(images)
    assert float((diverse - images).abs().max()) <= EPS + 1e-6
    assert not torch.allclose(plain, diverse)


@pytest.mark.parametrize("name", ALL)
def test_batch_equals_singles(name, new_embedder, images):
    model = new_embedder(dtype=torch.float64)  # no float rounding flips of gradient signs
    x = images.double()
    with torch.no_grad():
        targets = model(x.roll(1, dims=0)).unsqueeze(1)

    def run(rows: slice):
        objective = EmbeddingTargeted(targets[rows], threshold=1e-3)
        return attack(name, model, objective, random_start=False).run(x[rows])

    batch = run(slice(None))
    singles = [run(slice(i, i + 1)) for i in range(len(x))]
    assert torch.allclose(
        batch.adversarial, torch.cat([s.adversarial for s in singles]), atol=1e-12
    )
    assert torch.allclose(batch.loss, torch.cat([s.loss for s in singles]), atol=1e-12)


@pytest.mark.parametrize("name", ALL)
def test_leaves_input_and_model_untouched(name, new_embedder, images):
    model = new_embedder().train()  # the attack must not flip it to eval either
    frozen = next(iter(model.parameters()))
    frozen.requires_grad_(False)
    before = images.clone()
    attack(name, model, EmbeddingUntargeted(), momentum=0.5)(images)
    assert torch.equal(images, before)
    assert model.training
    assert not frozen.requires_grad
    assert all(p.grad is None for p in model.parameters())
    assert all(p.requires_grad for p in list(model.parameters())[1:])


@pytest.mark.parametrize("name", ALL)
def test_eot_path_through_differentiable_jpeg(name, embedder, images):
    draws = 0

    def jpeg(x: torch.Tensor) -> torch.Tensor:
        nonlocal draws
        draws += 1
        return RandomJPEG((60, 90), generator=torch.Generator().manual_seed(draws))(x)

    objective = targeted_embedding(embedder, images[:2])
    result = attack(name, embedder, objective, steps=2, transform=jpeg, eot_samples=2)
    x_adv = result(images[:2])
    assert draws == 4
    assert float((x_adv - images[:2]).abs().max()) <= EPS + 1e-6
    assert float((x_adv - images[:2]).abs().max()) > 0


def test_forward_active_only_gives_the_same_result(classifier, labelled_images):
    images, labels = labelled_images
    objective = ClassifierTargeted((labels + 1) % 3)
    seen: list[int] = []

    def counting(x: torch.Tensor) -> torch.Tensor:
        seen.append(len(x))
        return classifier(x)

    options = {"eps": 16 / 255, "steps": 20, "step_size": 2 / 255, "early_stop": True}
    full = make_attack("ifgsm", classifier, objective, **options).run(images)
    subset = make_attack("ifgsm", counting, objective, forward_active_only=True, **options)
    result = subset.run(images)
    assert torch.allclose(result.adversarial, full.adversarial, atol=1e-6)
    assert torch.equal(result.steps, full.steps)
    assert min(seen) < len(images)


def test_runs_inside_no_grad(embedder, images):
    with torch.no_grad():
        x_adv = PGD(embedder, EmbeddingUntargeted(), steps=2)(images)
    assert not torch.equal(x_adv, images)


def test_callback_sees_every_step(embedder, images):
    infos: list[StepInfo] = []
    PGD(embedder, EmbeddingUntargeted(), steps=3, callback=infos.append)(images)
    assert [i.step for i in infos] == [1, 2, 3]
    assert all(i.total == 3 and i.loss.shape == (len(images),) for i in infos)


def test_objective_can_be_given_per_call(embedder, images):
    pgd = PGD(embedder, steps=1)
    with pytest.raises(ValueError, match="objective"):
        pgd(images)
    assert pgd(images, objective=EmbeddingUntargeted()).shape == images.shape
    assert pgd.last_result is not None


def test_feature_space_objective_on_a_dict_model(new_embedder, images):
    trunk = new_embedder()

    def features(x: torch.Tensor) -> dict[str, torch.Tensor]:
        hidden = trunk[:2](x)
        return {"hidden": hidden, "embedding": trunk[2:](hidden)}

    objective = EmbeddingUntargeted(feature_weights={"hidden": 1.0, "embedding": 0.0})
    x_adv = PGD(features, objective, steps=3)(images)
    with torch.no_grad():
        moved = (features(x_adv)["hidden"] - features(images)["hidden"]).abs().mean()
    assert float(moved) > 0


def test_make_attack_names_and_errors(embedder):
    assert type(make_attack("I-FGSM", embedder)).__name__ == "IFGSM"
    assert make_attack("pfgvm", embedder, lam=3.0).lam == 3.0
    with pytest.raises(ValueError, match="unknown attack"):
        make_attack("fgsm++", embedder)
    with pytest.raises(ValueError, match="eps"):
        make_attack("pgd", embedder, eps=None)
    with pytest.raises(ValueError, match="random start"):
        make_attack("ifgvm", embedder, random_start=True)


def test_rejects_bad_inputs(embedder, images):
    pgd = PGD(embedder, EmbeddingUntargeted(), steps=1)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        pgd(images * 2)
    with pytest.raises(ValueError, match="mask"):
        pgd(images, mask=torch.ones(5, 5))


def test_rejects_a_model_whose_rows_do_not_match_the_batch(images):
    def all_faces_in_one_row(x: torch.Tensor) -> torch.Tensor:
        return nn.Flatten(0)(x)[None, :16].expand(3, 16)

    with pytest.raises(ValueError, match="one row per input sample"):
        PGD(all_faces_in_one_row, EmbeddingUntargeted(), steps=1)(images)


def test_non_finite_gradients_do_not_poison_the_image(images, caplog):
    def sqrt_model(x: torch.Tensor) -> torch.Tensor:
        return (x - images).sqrt().flatten(1)[:, :8]  # infinite gradient where x == images

    with caplog.at_level("WARNING", logger="facecloak.attacks.base"):
        result = PGD(sqrt_model, EmbeddingUntargeted(), steps=2).run(images)
    assert bool(torch.isfinite(result.adversarial).all())
    assert "non-finite" in caplog.text


def test_early_stop_on_embedding_distance(embedder, images):
    objective = EmbeddingUntargeted(threshold=0.004, margin=0.001)
    result = PGD(embedder, objective, steps=20, early_stop=True).run(images)
    assert bool(result.success.all())
    assert bool((result.steps < 20).all())
    with torch.no_grad():
        distance = (embedder(result.adversarial) - embedder(images)).norm(dim=1)
    assert bool((distance >= 0.005 - 1e-6).all())
