"""The differentiable SSIMULACRA2 agrees with the reference package and gives gradients."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from facecloak import ssimulacra
from facecloak.geometry import widened
from facecloak.quality import (
    S2_CONTEXT,
    S2_PHASES,
    ssimulacra2_at_least,
    ssimulacra2_score,
    ssimulacra2_window,
)
from facecloak.ssimulacra import Ssimulacra2Reference, ssimulacra2


def _tensor(rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(rgb.copy()).permute(2, 0, 1)[None].double() / 255


def _jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=quality)
    return np.asarray(Image.open(buffer))


def _changes(rgb: np.ndarray) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    wave = 12 * np.sin(np.arange(rgb.shape[1]) / 9)[None, :, None]
    return {
        "jpeg q60": _jpeg(rgb, 60),
        "noise": np.clip(rgb + rng.normal(0, 6, rgb.shape), 0, 255).astype(np.uint8),
        "blotches": np.clip(rgb + wave, 0, 255).astype(np.uint8),
    }


@pytest.mark.parametrize(
    "crop", [(slice(50, 250), slice(150, 330)), (slice(100, 130), slice(200, 241))]
)
def test_scores_match_the_reference_package(astronaut: np.ndarray, crop) -> None:
    face = np.ascontiguousarray(astronaut[crop])
    for name, changed in _changes(face).items():
        reference = ssimulacra2_window(face, changed)
        if reference is None:
            pytest.skip("the ssimulacra2 package is not installed")
        ours = float(ssimulacra2(_tensor(face), _tensor(changed)))
        assert ours == pytest.approx(reference, abs=0.05), name


def test_identical_images_score_100_and_worse_changes_score_lower(grace_hopper) -> None:
    face = _tensor(np.ascontiguousarray(grace_hopper[50:300, 130:380]))
    assert float(ssimulacra2(face, face)) == 100.0
    slight, strong = (face + 2 / 255).clamp(0, 1), (face + 20 / 255).clamp(0, 1)
    assert 100 > float(ssimulacra2(face, slight)) > float(ssimulacra2(face, strong))


def test_gradient_points_back_toward_the_original(grace_hopper) -> None:
    face = _tensor(np.ascontiguousarray(grace_hopper[100:200, 200:300]))
    noise = torch.randn(face.shape, generator=torch.Generator().manual_seed(0), dtype=face.dtype)
    changed = (face + 0.03 * noise).clamp(0, 1).requires_grad_(True)
    score = ssimulacra2(face, changed)
    (grad,) = torch.autograd.grad(score.sum(), changed)
    assert torch.isfinite(grad).all()
    stepped = ssimulacra2(face, (changed + 1e-3 * grad.sign()).clamp(0, 1))
    assert float(stepped) > float(score.detach())


def test_the_gradient_is_the_metric_s_own_derivative() -> None:
    # Finite differences through every scale's maps, the colour transform's powers included.
    generator = torch.Generator().manual_seed(3)
    clean = torch.rand(1, 3, 17, 19, generator=generator, dtype=torch.float64) * 0.8 + 0.1
    changed = clean + 0.05 * torch.randn(clean.shape, generator=generator, dtype=clean.dtype)
    changed = changed.clamp(0.02, 0.98).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda image: ssimulacra2(clean, image), (changed,))


def test_a_reference_scores_as_the_function_does_in_either_precision(astronaut) -> None:
    face = _tensor(np.ascontiguousarray(astronaut[50:250, 150:330]))
    score = Ssimulacra2Reference(face)
    single = Ssimulacra2Reference(face.float(), torch.float32)
    for name, rgb in _changes(np.ascontiguousarray(astronaut[50:250, 150:330])).items():
        changed = _tensor(rgb)
        assert float(score(changed)) == float(ssimulacra2(face, changed)), name
        assert abs(float(single(changed.float())) - float(score(changed))) < 0.1, name
    with pytest.raises(ValueError, match="original's shape"):
        score(face[..., :100])


def test_bad_shapes_are_refused_in_one_line() -> None:
    with pytest.raises(ValueError, match="8x8"):
        ssimulacra2(torch.zeros(1, 3, 4, 20), torch.zeros(1, 3, 4, 20))
    with pytest.raises(ValueError, match="one shape"):
        ssimulacra2(torch.zeros(1, 3, 16, 16), torch.zeros(1, 3, 16, 17))


def test_a_small_face_box_is_judged_with_its_surroundings(astronaut: np.ndarray) -> None:
    rng = np.random.default_rng(1)
    changed = astronaut.copy()
    box = (180, 80, 290, 190)  # 110 px: LFW's face size
    noise = rng.normal(0, 12, (110, 110, 3))
    changed[80:190, 180:290] = np.clip(astronaut[80:190, 180:290] + noise, 0, 255)
    score = ssimulacra2_score(astronaut, changed, box=box)
    if score is None:
        pytest.skip("the ssimulacra2 package is not installed")
    x0, y0, x1, y1 = widened(box, S2_CONTEXT, *astronaut.shape[:2])
    assert (x1 - x0, y1 - y0) == (S2_CONTEXT, S2_CONTEXT)
    window = np.s_[y0:y1, x0:x1]
    assert score == ssimulacra2_score(astronaut[window], changed[window])
    large = (0, 0, 300, 300)  # already large enough: judged as it is
    assert ssimulacra2_score(astronaut, changed, box=large) == ssimulacra2_score(
        astronaut[:300, :300], changed[:300, :300]
    )


@pytest.fixture
def striped_face(astronaut, grid_hidden_stripes) -> tuple[np.ndarray, np.ndarray, float]:
    """A face, the same with stripes one pixel grid's blocks hide, and the judge's score."""
    face = np.ascontiguousarray(astronaut[60:220, 160:320])
    changed = grid_hidden_stripes(face.astype(np.float64), 6.0)
    score = ssimulacra2_score(face, changed)
    if score is None:
        pytest.skip("the ssimulacra2 package is not installed")
    return face, changed, score


def test_the_judge_takes_the_lowest_phase_of_the_window(striped_face) -> None:
    face, changed, score = striped_face

    def at(phase: tuple[int, int]) -> float:
        dx, dy = phase
        return ssimulacra2_window(face[dy:, dx:], changed[dy:, dx:])

    by_phase = [at(phase) for phase in S2_PHASES]
    assert score == min(by_phase)
    assert score < at((0, 0)) - 1  # the grid the stripes hide from is not the one that counts


def test_at_least_holds_every_phase_to_the_floor(striped_face) -> None:
    face, changed, score = striped_face
    above_the_hidden_grid = ssimulacra2_window(face, changed) - 0.5
    assert ssimulacra2_at_least(face, changed, score)
    assert not ssimulacra2_at_least(face, changed, above_the_hidden_grid)
    assert ssimulacra2_at_least(face, face, 100.0)


def test_a_window_scored_again_comes_from_memory(astronaut, monkeypatch) -> None:
    pytest.importorskip("ssimulacra2")
    face = np.ascontiguousarray(astronaut[60:220, 160:320])
    changed = _changes(face)["noise"]
    first = ssimulacra2_window(face, changed)
    from facecloak import quality

    monkeypatch.setattr(quality, "ssimulacra2_uint8", lambda *_: pytest.fail("scored twice"))
    assert ssimulacra2_window(face.copy(), changed.copy()) == first
    other = changed.copy()
    other[0, 0, 0] ^= 1  # one bit of the content: scored anew
    with pytest.raises(pytest.fail.Exception):
        ssimulacra2_window(face, other)


@pytest.mark.parametrize("box", [(60, 40, 140, 150), (0, 90, 70, 173)])
def test_a_reference_told_where_changes_lie_scores_only_there(astronaut, box) -> None:
    window = _tensor(np.ascontiguousarray(astronaut[20:193, 150:330]))
    x0, y0, x1, y1 = box
    noise = torch.zeros_like(window)
    patch = torch.randn(1, 3, y1 - y0, x1 - x0, generator=torch.Generator().manual_seed(2))
    noise[..., y0:y1, x0:x1] = 0.04 * patch.double()
    gradients = []
    for within in (None, box):
        changed = (window + noise).clamp(0, 1).requires_grad_(True)
        score = Ssimulacra2Reference(window, within=within)(changed)
        score.sum().backward()
        gradients.append(changed.grad)
        assert float(score) == pytest.approx(float(ssimulacra2(window, changed)), abs=1e-9)
    whole, boxed = gradients
    torch.testing.assert_close(boxed[..., y0:y1, x0:x1], whole[..., y0:y1, x0:x1])
    boxed[..., y0:y1, x0:x1] = 0
    assert float(boxed.abs().max()) == 0.0  # pixels outside the box are not read


@pytest.mark.parametrize("side", [60, 130, 260])  # 4, 5 and 6 scales: the weights fall apart
def test_maps_the_weights_leave_out_are_skipped_without_changing_anything(
    grace_hopper, side, monkeypatch
) -> None:
    face = _tensor(np.ascontiguousarray(grace_hopper[40 : 40 + side, 120 : 120 + side]))
    noise = torch.randn(face.shape, generator=torch.Generator().manual_seed(3), dtype=face.dtype)
    assert not all(all(map(all, scale)) for scale in ssimulacra.maps_read(6))
    every = (((True, True, True),) * 3,) * ssimulacra.SCALES
    results = []
    for skipping in (True, False):
        if not skipping:
            monkeypatch.setattr(ssimulacra, "maps_read", lambda levels: every[:levels])
        changed = (face + 0.03 * noise).clamp(0, 1).requires_grad_(True)
        score = Ssimulacra2Reference(face)(changed)
        (grad,) = torch.autograd.grad(score.sum(), changed)
        results.append((score.detach(), grad))
    torch.testing.assert_close(results[0][0], results[1][0], rtol=0, atol=1e-12)
    torch.testing.assert_close(results[0][1], results[1][1])
