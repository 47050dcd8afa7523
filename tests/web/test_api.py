"""The REST API on FastAPI's test client: every endpoint, every bad upload and option."""

from __future__ import annotations

import io
import time
import zipfile

import numpy as np
import pytest
from PIL import Image

API = "/api/v1"


def wait_for(client, job_id: str, timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"{API}/jobs/{job_id}").json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still running after {timeout} s")


def refused(response, status: int, *words: str) -> str:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json")
    message = response.json()["error"]
    assert isinstance(message, str) and "\n" not in message and "Traceback" not in message
    for word in words:
        assert word in message, message
    return message


@pytest.fixture(scope="module")
def blur_job(client, astronaut_png: bytes) -> dict:
    files = [("photos", ("../../etc/astronaut.png", astronaut_png))]
    response = client.post(f"{API}/jobs", files=files, data={"method": "blur"})
    assert response.status_code == 202, response.text
    return wait_for(client, response.json()["id"])


def test_health_and_models(client) -> None:
    health = client.get(f"{API}/health").json()
    assert health["status"] == "ok" and health["limits"]["max_photos"] == 3
    models = client.get(f"{API}/models").json()
    assert "dlib" in {r["name"] for r in models["recognizers"]}
    assert all(r["available"] or r["reason"] for r in models["recognizers"])
    assert "centerface" in models["detectors"]
    assert {"cloak", "blur", "pixelate", "mask"} <= set(models["options"]["methods"])
    assert models["options"]["against"] == ["recognition", "detection", "both"]


def test_blur_job_reports_every_recognizer(blur_job: dict, client) -> None:
    assert blur_job["status"] == "done" and blur_job["progress"] == 1.0
    photo = blur_job["photos"][0]
    assert photo["name"] == "astronaut.png"  # the client's path is dropped
    result = photo["result"]
    assert result["faces_found"] == 1 and result["width"] == 512
    face = result["faces"][0]
    available = [
        r["name"] for r in client.get(f"{API}/models").json()["recognizers"] if r["available"]
    ]
    assert [v["recognizer"] for v in face["verdicts"]] == available
    assert not any(v["still_matches"] for v in face["verdicts"])
    assert 0 < face["ssim"] < 0.9
    assert result["detections_before"]["faces"]


def test_files_are_metadata_free_pngs_changed_only_in_the_face(
    blur_job: dict, client, astronaut: np.ndarray
) -> None:
    job_id = blur_job["id"]
    response = client.get(f"{API}/jobs/{job_id}/files/0")
    assert response.headers["content-type"] == "image/png"
    assert 'filename="astronaut-protected.png"' in response.headers["content-disposition"]
    image = Image.open(io.BytesIO(response.content))
    assert not image.info.get("exif") and not image.getexif() and "icc_profile" not in image.info
    protected = np.asarray(image.convert("RGB"))
    changed = np.argwhere(np.any(protected != astronaut, axis=2))
    x0, y0, x1, y1 = blur_job["photos"][0]["result"]["faces"][0]["box"]
    margin = 0.6 * max(x1 - x0, y1 - y0)  # the blur feathers a little past the box
    assert (
        changed.size and changed[:, 1].min() >= x0 - margin and changed[:, 1].max() <= x1 + margin
    )
    assert changed[:, 0].min() >= y0 - margin and changed[:, 0].max() <= y1 + margin
    difference = client.get(f"{API}/jobs/{job_id}/files/0", params={"variant": "difference"})
    assert difference.status_code == 200 and difference.content != response.content


def test_zip_holds_every_protected_photo(blur_job: dict, client) -> None:
    response = client.get(f"{API}/jobs/{blur_job['id']}/zip")
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        names = archive.namelist()
        assert names == ["00-astronaut-protected.png"]
        Image.open(io.BytesIO(archive.read(names[0]))).verify()


def test_unknown_job_file_and_variant(blur_job: dict, client) -> None:
    refused(client.get(f"{API}/jobs/nope"), 404, "no job")
    refused(client.get(f"{API}/jobs/nope/zip"), 404, "no job")
    refused(client.get(f"{API}/jobs/{blur_job['id']}/files/7"), 404, "no photo 7")
    bad = client.get(f"{API}/jobs/{blur_job['id']}/files/0", params={"variant": "raw"})
    refused(bad, 422, "variant")
    refused(client.get(f"{API}/nothing-here"), 404)


def test_delete_forgets_the_job(client, astronaut_png: bytes) -> None:
    files = [("photos", ("a.png", astronaut_png))]
    job = wait_for(
        client, client.post(f"{API}/jobs", files=files, data={"method": "mask"}).json()["id"]
    )
    assert client.delete(f"{API}/jobs/{job['id']}").status_code == 204
    refused(client.get(f"{API}/jobs/{job['id']}"), 404)
    refused(client.delete(f"{API}/jobs/{job['id']}"), 404)


def test_detect(client, astronaut_png: bytes) -> None:
    response = client.post(f"{API}/detect", files={"photo": ("x.txt", astronaut_png)})
    assert response.status_code == 200, response.text  # the type is what the bytes decode as
    body = response.json()
    assert body["count"] == 1 and body["detector"] == "centerface"
    hog = client.post(
        f"{API}/detect", files={"photo": ("a.png", astronaut_png)}, data={"detector": "hog"}
    )
    assert hog.json()["detector"] == "hog"


def test_compare_same_and_different(client, astronaut_png: bytes, hopper_jpeg: bytes) -> None:
    same = client.post(
        f"{API}/compare",
        files={"photo_a": ("a.png", astronaut_png), "photo_b": ("b.png", astronaut_png)},
    ).json()
    assert same["matches"] == same["recognizers"] >= 1
    different = client.post(
        f"{API}/compare",
        files={"photo_a": ("a.png", astronaut_png), "photo_b": ("b.jpg", hopper_jpeg)},
    ).json()
    assert different["matches"] == 0
    assert {"recognizer", "distance", "threshold", "same_person"} <= set(different["verdicts"][0])


def test_compare_without_a_face(client, astronaut_png: bytes, to_bytes) -> None:
    blank = to_bytes(np.full((64, 64, 3), 200, np.uint8))
    response = client.post(
        f"{API}/compare", files={"photo_a": ("a.png", astronaut_png), "photo_b": ("b.png", blank)}
    )
    refused(response, 422, "photo b", "no face")
