"""An ensemble cloak pushes every recognizer it attacks, each in units of its own threshold."""

import pytest
import torch

from facecloak.errors import InvalidOptionError, ModelNotFoundError
from facecloak.models import detect, load_recognizer
from facecloak.protect import ProtectConfig, protect


@pytest.fixture(scope="module")
def mobilefacenet():
    try:
        return load_recognizer("mobilefacenet")
    except ModelNotFoundError as exc:
        pytest.skip(f"MobileFaceNet weights absent: {exc}")


def test_ensemble_moves_mobilefacenet_further_than_dlib_alone(grace_hopper, mobilefacenet):
    face = detect(grace_hopper)[0]
    clean = mobilefacenet.embed(grace_hopper, [face])

    def moved(image) -> float:
        return float(
            mobilefacenet.distance(mobilefacenet.embed(image, detect(image)[:1]), clean)[0]
        )

    dlib_only = ProtectConfig(strength="mid", recognizers=("dlib",), judges=())
    alone = protect(grace_hopper, dlib_only, detected=[face]).image
    config = ProtectConfig(strength="mid", recognizers=("dlib", mobilefacenet))
    both = protect(grace_hopper, config, detected=[face])
    assert moved(both.image) > 1.5 * moved(alone)
    assert both.outcomes[0].protected  # dlib is still beaten
    assert both.outcomes[0].ssim >= 0.95 - 1e-3  # mid preset's floor, over the face box


def test_ensemble_refuses_a_target(grace_hopper, mobilefacenet):
    with pytest.raises(InvalidOptionError, match="untargeted"):
        ProtectConfig(target=torch.zeros(1, 128), recognizers=("dlib", mobilefacenet))


def test_ensemble_needs_the_perceptual_attack(mobilefacenet):
    with pytest.raises(InvalidOptionError, match="method=ifgsm"):
        ProtectConfig(method="ifgsm", recognizers=("dlib", "mobilefacenet"))


def test_all_means_every_usable_recognizer_for_the_perceptual_cloak():
    from facecloak.recognition import usable_recognizers

    assert ProtectConfig().cloak_recognizers == usable_recognizers()
    assert ProtectConfig(method="pgd").cloak_recognizers == ("dlib",)
    targeted = ProtectConfig(target=torch.zeros(1, 128))
    assert targeted.cloak_recognizers == ("dlib",)


def test_a_pull_moves_the_face_toward_the_decoy(astronaut, grace_hopper, mobilefacenet):
    from dataclasses import replace

    from facecloak.protect.presets import PRESETS

    face = detect(astronaut)[0]
    decoy = mobilefacenet.embed(grace_hopper, detect(grace_hopper)[:1])

    def to_decoy(image) -> float:
        return float(mobilefacenet.distance(mobilefacenet.embed(image, [face]), decoy)[0])

    quick = replace(PRESETS["mid"], steps=8)
    pulled = replace(quick, pull=2.0)
    pair = ("dlib", mobilefacenet)
    away = protect(astronaut, ProtectConfig(strength=quick, recognizers=pair, judges=()))
    toward = protect(astronaut, ProtectConfig(strength=pulled, recognizers=pair, judges=()))
    assert to_decoy(toward.image) < to_decoy(away.image) - 0.02


def test_members_per_step_runs_fewer_recognizer_passes(grace_hopper, mobilefacenet):
    from dataclasses import replace

    from facecloak.protect.presets import PRESETS

    face = detect(grace_hopper)[0]
    pair = (load_recognizer("dlib"), mobilefacenet)
    calls = []
    hooks = [r.register_forward_hook(lambda *_: calls.append(1)) for r in pair]

    def passes(per_step: int | None) -> int:
        calls.clear()
        quick = replace(PRESETS["mid"], steps=6, members_per_step=per_step, large_face_members=None)
        config = ProtectConfig(strength=quick, recognizers=pair, judges=())
        protect(grace_hopper, config, detected=[face])
        return len(calls)

    try:
        every, sampled = passes(None), passes(1)
    finally:
        for hook in hooks:
            hook.remove()
    assert every - sampled == 5  # both on the first of the 6 steps, then one of the two


def test_the_default_draws_one_recognizer_a_step_on_a_large_face_only(
    astronaut, grace_hopper, mobilefacenet
):
    from dataclasses import replace

    from facecloak.attacks.visibility import chip_spacing
    from facecloak.faces.regions import face_region
    from facecloak.protect.presets import LARGE_FACE_SPACING, PRESETS

    pair = (load_recognizer("dlib"), mobilefacenet)
    calls = []
    hooks = [r.register_forward_hook(lambda *_: calls.append(1)) for r in pair]

    def passes(image, large_face_members: int | None) -> int:
        calls.clear()
        quick = replace(PRESETS["mid"], steps=6, large_face_members=large_face_members)
        config = ProtectConfig(strength=quick, recognizers=pair, judges=())
        protect(image, config, detected=[detect(image)[0]])
        return len(calls)

    def spacing(image) -> float:
        region = face_region(detect(image)[0], *image.shape[:2], size=max(pair[0].chip_size))
        return chip_spacing(region.chip_to_crop)

    assert spacing(astronaut) < LARGE_FACE_SPACING <= spacing(grace_hopper)
    assert PRESETS["mid"].large_face_members == 1
    try:
        assert passes(grace_hopper, None) - passes(grace_hopper, 1) == 5
        assert passes(astronaut, None) == passes(astronaut, 1)
    finally:
        for hook in hooks:
            hook.remove()
    with pytest.raises(InvalidOptionError, match="large_face_members"):
        replace(PRESETS["mid"], large_face_members=0)


def test_every_preset_draws_two_recognizers_a_step_but_a_cloak_after_a_replacement_all():
    from facecloak.protect.presets import PRESETS, after_replacement

    assert {name: p.members_per_step for name, p in PRESETS.items()} == {
        "low": 2,
        "mid": 2,
        "high": 2,
    }
    assert all(after_replacement(p).members_per_step is None for p in PRESETS.values())
    with pytest.raises(InvalidOptionError, match="members_per_step"):
        from dataclasses import replace

        replace(PRESETS["mid"], members_per_step=0)


def test_every_preset_computes_the_s2_floor_s_finest_scales_every_third_step():
    from dataclasses import replace

    from facecloak.protect.presets import PRESETS

    assert {p.s2_fine_every for p in PRESETS.values()} == {3}
    with pytest.raises(InvalidOptionError, match="s2_fine_every"):
        replace(PRESETS["mid"], s2_fine_every=0)


def test_a_warm_started_cloak_runs_every_recognizer_on_every_step(grace_hopper, mobilefacenet):
    from dataclasses import replace

    from facecloak.protect.presets import PRESETS

    face = detect(grace_hopper)[0]
    pair = (load_recognizer("dlib"), mobilefacenet)
    drawn = replace(PRESETS["mid"], steps=12, members_per_step=1)
    first = protect(grace_hopper, ProtectConfig(strength=drawn, recognizers=pair, judges=()))
    calls = []
    hooks = [r.register_forward_hook(lambda *_: calls.append(1)) for r in pair]

    def passes(settings) -> int:
        calls.clear()
        config = ProtectConfig(strength=settings, recognizers=pair, judges=())
        protect(grace_hopper, config, detected=[face], warm_starts=first.latents)
        return len(calls)

    try:
        every = passes(replace(drawn, members_per_step=None))
        assert passes(drawn) == every
    finally:
        for hook in hooks:
            hook.remove()


@pytest.mark.parametrize("preset", ["mid", "high"])
def test_the_preset_takes_the_soft_minimum_on_a_small_face_and_the_sum_on_a_large_one(
    preset, astronaut, grace_hopper, mobilefacenet, monkeypatch
):
    from dataclasses import replace

    from facecloak.protect import identity
    from facecloak.protect.presets import PRESETS, SOFTMIN_TEMPERATURE

    temperatures = []

    class Recorded(identity.EnsembleUntargeted):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            temperatures.append(self.temperature)

    monkeypatch.setattr(identity, "EnsembleUntargeted", Recorded)
    pair = (load_recognizer("dlib"), mobilefacenet)
    quick = replace(PRESETS[preset], steps=2)
    for image in (astronaut, grace_hopper):
        config = ProtectConfig(strength=quick, recognizers=pair, judges=())
        protect(image, config, detected=[detect(image)[0]])
    assert temperatures == [SOFTMIN_TEMPERATURE, None]
