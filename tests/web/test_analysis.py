"""What a photo's report says: verdicts per recognizer, the visible change, detections."""

from __future__ import annotations

import time

import numpy as np
import pytest

from facecloak.models import detect
from facecloak.quality import ssimulacra2_score
from facecloak.web.analysis import compare_report, detect_report, photo_report
from facecloak.web.uploads import amplified_difference

API = "/api/v1"


def test_ssimulacra2_scores_the_face_box(astronaut: np.ndarray) -> None:
    pytest.importorskip("ssimulacra2", reason="the optional ssimulacra2 package is absent")
    box = (181, 58, 270, 178)
    assert ssimulacra2_score(astronaut, astronaut, box) == pytest.approx(100.0)
    noisy = astronaut.copy()
    noisy[58:178, 181:270] ^= 8
    assert ssimulacra2_score(astronaut, noisy, box) < 90
    tiny = np.s_[:4, :4]  # too small for six scales (a box would be widened)
    assert ssimulacra2_score(astronaut[tiny], noisy[tiny]) is None


def test_unchanged_photo_still_matches_everywhere(astronaut: np.ndarray, pool) -> None:
    faces = detect(astronaut)
    report = photo_report(astronaut, astronaut, faces, pool)
    face = report["faces"][0]
    assert face["ssim"] == 1.0 and face["psnr"] is None
    assert face["verdicts"] and all(v["still_matches"] for v in face["verdicts"])
    assert len(report["detections_after"]["faces"]) == len(faces) == 1


def test_detect_and_compare_reports(astronaut: np.ndarray, grace_hopper: np.ndarray, pool) -> None:
    assert detect_report(astronaut, "centerface")["count"] == 1
    with pytest.raises(ValueError, match="detector"):
        detect_report(astronaut, "nope")
    same = compare_report(grace_hopper, grace_hopper, pool)
    assert same["matches"] == same["recognizers"]


def test_amplified_difference() -> None:
    a = np.zeros((2, 2, 3), np.uint8)
    b = a.copy()
    b[0, 0] = 3
    b[1, 1] = 200
    diff = amplified_difference(a, b)
    assert diff[0, 0, 0] == 30 and diff[1, 1, 0] == 255 and diff[0, 1, 0] == 0


@pytest.mark.slow
def test_cloak_job_with_a_low_strength(client, astronaut_png: bytes) -> None:
    files = [("photos", ("astronaut.png", astronaut_png))]
    data = {"method": "cloak", "strength": "low"}
    created = client.post(f"{API}/jobs", files=files, data=data)
    assert created.status_code == 202, created.text
    job_id, progress = created.json()["id"], []
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        job = client.get(f"{API}/jobs/{job_id}").json()
        progress.append(job["progress"])
        if job["status"] in ("done", "failed"):
            break
        time.sleep(0.5)
    assert job["status"] == "done", job
    assert progress == sorted(progress) and any(0 < p < 1 for p in progress)
    result = job["photos"][0]["result"]
    assert result["protect"]["settings"]["attack"] == "perceptual"
    face = result["faces"][0]
    assert face["ssim"] > 0.95  # a cloak is nearly invisible
    dlib = next(v for v in face["verdicts"] if v["recognizer"] == "dlib")
    assert dlib["distance"] > 0.3  # moved well away from the clean face, if not always past 0.6
