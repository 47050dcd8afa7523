from __future__ import annotations

import json
import logging
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from facecloak.errors import FacecloakError, ModelNotFoundError, NoFaceError
from facecloak.evaluate import detection_protection as dp
from facecloak.faces.face import Face
from facecloak.models import detectors as detector_registry

# The astronaut's face, labelled by hand (x0, y0, x1, y1); CenterFace and HOG both find it.
ASTRONAUT_FACE = (176, 68, 268, 172)


@pytest.fixture(scope="module")
def folder(tmp_path_factory, astronaut, grace_hopper) -> Path:
    """astronaut.png (labelled), people/hopper.jpg (unlabelled), wall.png (no face)."""
    root = tmp_path_factory.mktemp("detection_photos")
    Image.fromarray(astronaut).save(root / "astronaut.png")
    (root / "people").mkdir()
    Image.fromarray(grace_hopper).save(root / "people" / "hopper.jpg")
    Image.fromarray(np.full((96, 128, 3), 120, np.uint8)).save(root / "wall.png")
    (root / "notes.txt").write_text("not a photo\n")
    x0, y0, x1, y1 = ASTRONAUT_FACE
    (root / "boxes.csv").write_text(
        f"path,split,left,top,width,height\nastronaut.png,test,{x0},{y0},{x1 - x0},{y1 - y0}\n"
    )
    return root


@pytest.fixture(scope="module")
def photos(folder) -> list[dp.DetectionPhoto]:
    return dp.photos_from_folder(folder, no_face=["wall.png"])


@pytest.fixture(scope="module")
def originals(photos) -> dict:
    detectors, _ = dp.load_detectors(["centerface", "hog"])
    return dp.detect_originals(photos, detectors, progress=False)


@pytest.fixture(scope="module")
def blur_report(photos, originals) -> dp.DetectionProtectionReport:
    return dp.evaluate_detection_protection(
        photos, dp.classical_protector("blur"), ["centerface", "hog"], originals=originals
    )


@pytest.fixture(scope="module")
def unchanged_report(photos, originals) -> dp.DetectionProtectionReport:
    return dp.evaluate_detection_protection(
        photos, lambda rgb: rgb.copy(), ["centerface", "hog"], originals=originals
    )


def test_folder_is_read_recursively_with_default_box_labels(photos) -> None:
    assert [p.key for p in photos] == ["astronaut.png", "people/hopper.jpg", "wall.png"]
    labels = {p.key: p.truth for p in photos}
    assert labels == {
        "astronaut.png": (ASTRONAUT_FACE,),
        "people/hopper.jpg": None,
        "wall.png": (),
    }


def test_folder_limit_and_errors(folder, tmp_path: Path) -> None:
    assert len(dp.photos_from_folder(folder, limit=1)) == 1
    with pytest.raises(FacecloakError, match="no photos found"):
        dp.photos_from_folder(tmp_path)
    wrong = tmp_path / "boxes.csv"
    wrong.write_text("path,left,top,width,height\nmissing.jpg,1,1,5,5\n")
    with pytest.raises(FacecloakError, match=r"missing\.jpg"):
        dp.photos_from_folder(folder, wrong)
    with pytest.raises(FacecloakError, match="not a folder"):
        dp.photos_from_folder(tmp_path / "nowhere")


def test_unprotected_photos_keep_every_face(unchanged_report) -> None:
    summary = unchanged_report.summary()
    for name in ("centerface", "hog"):
        entry = summary["detectors"][name]
        assert entry["reference_faces"] >= 2  # astronaut and Grace Hopper
        assert entry["original"]["detection_rate"] == 1.0
        assert entry["protected"]["detection_rate"] == 1.0
        assert entry["protected"]["recall"] == entry["original"]["recall"] == 1.0
        assert entry["protected"]["ap"] == entry["original"]["ap"] == 1.0
    assert summary["face_ssim_min"] == 1.0 and summary["linf_255_max"] == 0.0
    assert summary["faces_protected"] == 0  # a bare callable does not say which faces


def test_blur_hides_faces_and_is_visible(blur_report) -> None:
    summary = blur_report.summary()
    assert summary["photos"] == 3 and summary["labelled_photos"] == 2
    assert summary["labelled_faces"] == 1 and summary["faces_protected"] == 2
    centerface = summary["detectors"]["centerface"]
    assert centerface["role"] == "-"  # blur is computed against no detector
    assert centerface["original"]["recall"] == 1.0
    assert centerface["original_jpeg75"]["detection_rate"] == 1.0
    for image in ("protected", "protected_jpeg75"):
        assert centerface[image]["detection_rate"] == 0.0
        assert centerface[image]["recall"] == 0.0 and centerface[image]["ap"] == 0.0
    hog = summary["detectors"]["hog"]
    assert hog["protected"]["recall"] == 0.0
    assert hog["protected"]["detection_rate"] < hog["original"]["detection_rate"] == 1.0
    assert summary["face_ssim_mean"] < 0.8 and summary["faces_measured"] == 2
    assert summary["seconds_per_photo"] > 0 and centerface["seconds_per_photo"] > 0


def test_photo_without_face_is_left_unchanged(blur_report) -> None:
    wall = next(p for p in blur_report.photos if p.photo.key == "wall.png")
    assert wall.faces_protected == 0 and wall.linf == 0.0 and wall.face_quality == []


def test_originals_are_reused_not_recomputed(blur_report, originals) -> None:
    for photo in blur_report.photos:
        reused = photo.detections["original"]["centerface"]
        assert reused is originals[photo.photo.key]["original"]["centerface"]


def test_report_files(blur_report, tmp_path: Path) -> None:
    paths = blur_report.write_report(tmp_path)
    payload = json.loads(paths["json"].read_text())
    assert payload["summary"]["protector"] == "blur" and len(payload["photos"]) == 3
    astronaut = payload["photos"][0]
    assert set(astronaut["detections"]) == set(dp.IMAGES)
    assert astronaut["detections"]["protected"]["centerface"]["faces"] == []
    markdown = paths["markdown"].read_text()
    assert "| centerface | - | protected, JPEG q75 | 0 | 0.0% |" in markdown
    grid = Image.open(paths["grid"])
    assert grid.size == (3 * 320, 2 * 320)  # the wall has no face: not in the grid


def _bright(rgb: np.ndarray, x: int, y: int) -> bool:
    inside = y < rgb.shape[0] and x < rgb.shape[1]
    return inside and bool(rgb[y, x].mean() > 200)


class SquareDetector:
    """A stub: a 'face' wherever a bright 20 px square is in one of two known places."""

    max_megapixels = 4.0

    def __call__(self, rgb: np.ndarray) -> list[Face]:
        faces = []
        if _bright(rgb, 20, 20):
            faces.append(Face((10.0, 10.0, 30.0, 30.0), 0.9, detector="squares"))
        if _bright(rgb, 60, 60):
            faces.append(Face((50.0, 50.0, 70.0, 70.0), 0.8, detector="squares"))
        if _bright(rgb, 85, 20):
            faces.append(Face((75.0, 10.0, 95.0, 30.0), 0.3, detector="squares"))
        return faces


@pytest.fixture
def squares(monkeypatch, tmp_path: Path) -> list[dp.DetectionPhoto]:
    """One photo with two 'faces' (both labelled) and the stub detector registered."""
    monkeypatch.setitem(detector_registry.DETECTORS, "squares", SquareDetector)
    detector_registry.get_detector.cache_clear()
    rgb = np.zeros((100, 100, 3), np.uint8)
    rgb[10:30, 10:30] = rgb[50:70, 50:70] = 255
    Image.fromarray(rgb).save(tmp_path / "squares.png")
    yield [dp.DetectionPhoto(tmp_path / "squares.png", "squares.png", ((10, 10, 30, 30),))]
    detector_registry.get_detector.cache_clear()


def test_detection_rate_counts_faces_found_before_and_still_found(squares) -> None:
    def hide_one_add_one(rgb: np.ndarray) -> np.ndarray:
        out = rgb.copy()
        out[50:70, 50:70] = 0  # hides the second square
        out[10:30, 75:95] = 255  # a new detection elsewhere does not raise the rate
        return out

    report = dp.evaluate_detection_protection(
        squares, hide_one_add_one, ["squares"], attacked=["squares"], progress=False
    )
    entry = report.summary()["detectors"]["squares"]
    assert entry["role"] == "white-box" and entry["reference_faces"] == 2
    assert entry["original"]["detection_rate"] == 1.0
    assert entry["protected"]["detection_rate"] == 0.5
    assert entry["protected"]["faces_found"] == 2
    # Only the first square is labelled: the second is a false positive on the original.
    assert (entry["original"]["recall"], entry["original"]["precision"]) == (1.0, 0.5)
    assert (entry["protected"]["recall"], entry["protected"]["precision"]) == (1.0, 0.5)
    quality = report.photos[0].face_quality
    assert [q["box"] for q in quality] == [[8, 8, 32, 32]]  # label padded by 10%
    assert quality[0]["ssim"] == 1.0 and quality[0]["psnr"] is None


def test_face_regions_prefer_labels_then_the_protectors_faces() -> None:
    found = [Face((0, 0, 9, 9), 1.0)]
    protected = [Face((1, 1, 5, 5), 1.0)]
    labelled = dp.DetectionPhoto(Path("a.png"), "a.png", ((2, 2, 8, 8),))
    unlabelled = dp.DetectionPhoto(Path("b.png"), "b.png")
    assert dp.face_regions(labelled, protected, found) == [(2, 2, 8, 8)]
    assert dp.face_regions(unlabelled, protected, found) == [(1, 1, 5, 5)]
    assert dp.face_regions(unlabelled, None, found) == [(0, 0, 9, 9)]
    assert dp.pad_box((10, 10, 20, 30), 0.1, 25, 31) == (9, 8, 21, 31)


def test_unknown_detector_is_an_error_unless_skipped() -> None:
    with pytest.raises(FacecloakError, match="unknown detector 'nope'"):
        dp.load_detectors(["centerface", "nope"])
    available, skipped = dp.load_detectors(["centerface", "nope"], skip_unknown=True)
    assert list(available) == ["centerface"] and "nope" in skipped


def test_detector_without_its_model_is_skipped_with_a_warning(monkeypatch, caplog) -> None:
    class Missing:
        def __init__(self) -> None:
            raise ModelNotFoundError("model.onnx is missing: put it in shared/models")

    monkeypatch.setitem(detector_registry.DETECTORS, "missing", Missing)
    with caplog.at_level(logging.WARNING):
        available, skipped = dp.load_detectors(["missing", "hog"])
    assert list(available) == ["hog"] and "model.onnx" in skipped["missing"]
    assert "missing" in caplog.text
    with pytest.raises(FacecloakError, match="none of the detectors"):
        dp.load_detectors(["missing"])


def test_protector_results_are_unpacked() -> None:
    rgb = np.zeros((8, 8, 3), np.uint8)

    result = SimpleNamespace(image=np.ones((8, 8, 3), np.uint8), faces=[Face((0, 0, 4, 4), 1.0)])

    def no_face(_: np.ndarray) -> np.ndarray:
        raise NoFaceError("no face found")

    image, faces = dp.Protector("r", lambda _: result)(rgb)
    assert image.max() == 1 and len(faces) == 1
    image, faces = dp.Protector("none", no_face)(rgb)
    assert (image == rgb).all() and faces == []
    with pytest.raises(FacecloakError, match="ProtectResult"):
        dp.Protector("bad", lambda _: object())(rgb)


def test_cloak_protector_passes_its_settings(monkeypatch) -> None:
    import facecloak.protect

    calls = []

    def new_protect(image, config):
        calls.append(config)
        return image

    monkeypatch.setattr(facecloak.protect, "protect", new_protect)
    protector = dp.cloak_protector(eps=0.03, steps=40, attack_detectors=["centerface", "yunet"])
    assert protector.settings["eps"] == 0.03
    protector(np.zeros((4, 4, 3), np.uint8))
    (config,) = calls
    assert (config.against, config.eps, config.steps, config.robust) == (
        "detection",
        0.03,
        40,
        False,
    )
    assert config.evade == ("centerface", "yunet")


def test_classical_protector_rejects_unknown_methods() -> None:
    with pytest.raises(FacecloakError, match="method='smudge' is not known"):
        dp.classical_protector("smudge")


@pytest.mark.slow
def test_labelled_dlib_faces_before_and_after_blur(shared_faces) -> None:
    folder = shared_faces / "dlib_faces"
    photos = [p for p in dp.photos_from_folder(folder, no_face=["dogs.jpg"]) if p.labelled]
    assert len(photos) == 10 and sum(len(p.truth) for p in photos) == 43
    report = dp.evaluate_detection_protection(
        photos, dp.classical_protector("blur"), ["centerface", "hog"], progress=False
    )
    summary = report.summary()
    for name in ("centerface", "hog"):
        entry = summary["detectors"][name]
        assert entry["original"]["recall"] == 1.0 and entry["original"]["ap"] == 1.0
        assert entry["original_jpeg75"]["detection_rate"] == 1.0
        # CenterFace still finds about a third of the blurred 37 px VOC faces; HOG none.
        assert entry["protected"]["recall"] <= 0.5
        assert entry["protected_jpeg75"]["detection_rate"] <= 0.5
    assert summary["detectors"]["hog"]["protected"]["recall"] <= 0.05
    assert summary["faces_measured"] == 43 and summary["face_ssim_mean"] < 0.8
