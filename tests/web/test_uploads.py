"""Every bad upload and every bad option gets a JSON error with the right 4xx, before any work."""

from __future__ import annotations

import numpy as np
import pytest

from facecloak.web.uploads import Caps, UploadError, decode_photo

API = "/api/v1"


def refused(response, status: int, *words: str) -> None:
    assert response.status_code == status, (response.status_code, response.text)
    message = response.json()["error"]
    assert "\n" not in message and "Traceback" not in message
    for word in words:
        assert word.lower() in message.lower(), message


def post_job(client, files: list[tuple[str, bytes]], **options: str):
    parts = [("photos", (name, data)) for name, data in files]
    return client.post(f"{API}/jobs", files=parts, data=options)


@pytest.fixture(scope="module")
def bad_uploads(astronaut_png: bytes, bomb: bytes) -> dict[str, tuple[bytes, int, str]]:
    """name -> (bytes, expected status, a word of the message)."""
    return {
        "empty.jpg": (b"", 400, "empty"),
        "truncated.png": (astronaut_png[: len(astronaut_png) // 2], 422, "truncated"),
        "text.jpg": (b"this is not a photo, only text\n" * 20, 415, "not an image"),
        "bomb.png": (bomb, 413, "MP limit"),
        "huge.png": (b"\x89PNG" + b"\0" * 2_100_000, 413, "MB limit"),
    }


@pytest.mark.parametrize("name", ["empty.jpg", "truncated.png", "text.jpg", "bomb.png", "huge.png"])
def test_bad_upload_to_every_endpoint(client, bad_uploads, astronaut_png: bytes, name: str) -> None:
    data, status, word = bad_uploads[name]
    refused(post_job(client, [(name, data)], method="blur"), status, word)
    refused(client.post(f"{API}/detect", files={"photo": (name, data)}), status, word)
    both = {"photo_a": ("a.png", astronaut_png), "photo_b": (name, data)}
    refused(client.post(f"{API}/compare", files=both), status, word)


def test_a_bad_photo_among_good_ones_refuses_the_job(client, astronaut_png: bytes) -> None:
    before = client.get(f"{API}/health").json()["jobs"]
    refused(
        post_job(client, [("a.png", astronaut_png), ("b.jpg", b"")], method="blur"), 400, "b.jpg"
    )
    assert client.get(f"{API}/health").json()["jobs"] == before


def test_truncated_jpeg(client, hopper_jpeg: bytes) -> None:
    cut = hopper_jpeg[: len(hopper_jpeg) // 3]
    refused(client.post(f"{API}/detect", files={"photo": ("g.jpg", cut)}), 422, "truncated")


def test_too_many_photos(client, to_bytes) -> None:
    small = to_bytes(np.zeros((8, 8, 3), np.uint8))
    refused(
        post_job(client, [(f"{i}.png", small) for i in range(4)], method="blur"), 413, "at most 3"
    )


def test_request_over_the_byte_cap(client, to_bytes) -> None:
    noise = np.random.default_rng(0).integers(0, 255, (700, 700, 3), dtype=np.uint8)
    big = to_bytes(noise)  # about 1.5 MB each, under the per-photo cap; 4 are over the request cap
    assert 1_000_000 < len(big) < 2_000_000
    refused(post_job(client, [(f"{i}.png", big) for i in range(4)], method="blur"), 413, "MB limit")


def test_no_photo(client) -> None:
    refused(client.post(f"{API}/jobs", data={"method": "blur"}), 422, "photos")
    refused(client.post(f"{API}/detect"), 422, "photo")
    refused(client.post(f"{API}/compare", files={"photo_a": ("a.png", b"x")}), 422, "photo_b")


@pytest.mark.parametrize(
    ("options", "word"),
    [
        ({"against": "faces"}, "against"),
        ({"method": "smudge"}, "method"),
        ({"strength": "max"}, "strength"),
        ({"method": "blur", "against": "detection"}, "against=recognition"),
        ({"method": "mask", "against": "both"}, "against=recognition"),
    ],
)
def test_bad_options(client, astronaut_png: bytes, options: dict, word: str) -> None:
    refused(post_job(client, [("a.png", astronaut_png)], **options), 422, word)


def test_bad_detector(client, astronaut_png: bytes) -> None:
    response = client.post(
        f"{API}/detect", files={"photo": ("a.png", astronaut_png)}, data={"detector": "eyes"}
    )
    refused(response, 422, "detector")


def test_decode_applies_exif_orientation(to_bytes) -> None:
    from PIL import Image

    rgb = np.zeros((10, 20, 3), np.uint8)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90 degrees: the upright photo is 20 tall, 10 wide
    data = to_bytes(rgb, "JPEG", exif=exif.tobytes())
    assert decode_photo(data, Caps(10_000, 1.0)).shape == (20, 10, 3)


def test_decode_refuses_gif(to_bytes) -> None:
    with pytest.raises(UploadError) as caught:
        decode_photo(to_bytes(np.zeros((4, 4, 3), np.uint8), "GIF"), Caps(10_000, 1.0))
    assert caught.value.status == 415
