"""End to end in a real headless Chromium (Debian's, driven by Playwright): upload the
public-domain astronaut, protect it, read the verdicts, download it, compare two photos.

Screenshots go to ``build/web/``. Skips with a reason where Playwright or Chromium is absent.
"""

from __future__ import annotations

import io
import os
import socket
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright for Python is absent (pip install -e '.[dev]')"
)
uvicorn = pytest.importorskip("uvicorn", reason="uvicorn is absent")

from facecloak.web import ServerSettings, create_app  # noqa: E402

CHROMIUM = Path(os.environ.get("FACECLOAK_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = Path(__file__).resolve().parents[2] / "build" / "web"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"{CHROMIUM} absent: apt-get install chromium (make test does it as root)",
    ),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(pool) -> Iterator[str]:
    settings = ServerSettings(port=free_port(), workers=1, max_photos=4)
    config = uvicorn.Config(create_app(settings, pool), host="127.0.0.1", port=settings.port)
    app_server = uvicorn.Server(config)
    thread = threading.Thread(target=app_server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not app_server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert app_server.started, "the server did not start"
    yield f"http://127.0.0.1:{settings.port}"
    app_server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def photos(tmp_path_factory, astronaut: np.ndarray, grace_hopper: np.ndarray) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("photos")
    paths = {"astronaut": folder / "astronaut.png", "hopper": folder / "grace_hopper.jpg"}
    Image.fromarray(astronaut).save(paths["astronaut"])
    Image.fromarray(grace_hopper).save(paths["hopper"], quality=92)
    return paths


def open_page(browser, server: str, width: int = 1100, height: int = 900):
    page = browser.new_page(viewport={"width": width, "height": height}, accept_downloads=True)
    page.goto(server + "/")
    page.wait_for_selector("#method option[value=blur]", state="attached")
    return page


def protect(page, photo: Path, method: str, against: str = "recognition") -> None:
    page.set_input_files("#photos", str(photo))
    page.check(f"input[name=against][value={against}]")
    page.select_option("#method", method)
    page.click("#protect-button")
    page.wait_for_selector(".card .faces table", timeout=180_000)


def test_protect_blur_in_the_browser(browser, server: str, photos, astronaut, tmp_path) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = open_page(browser, server)
    protect(page, photos["astronaut"], "blur")
    card = page.locator(".card").first
    assert "still matches: no" in card.locator(".faces").inner_text()
    assert "still matches: yes" not in card.locator(".faces").inner_text()
    assert "SSIM" in card.locator("caption").inner_text()
    assert card.locator(".after img").evaluate("img => img.complete && img.naturalWidth") == 512
    card.locator(".slider").focus()
    for _ in range(3):
        page.keyboard.press("ArrowLeft")
    assert card.locator(".slider").input_value() == "47"
    page.screenshot(path=str(SHOTS / "protect.png"), full_page=True)
    card.locator(".diff").check()
    page.wait_for_function(
        "() => { const i = document.querySelector('.card .after img');"
        " return i.complete && i.alt.startsWith('amplified'); }"
    )
    assert card.locator(".layer.before").is_hidden()
    card.locator(".viewer").screenshot(path=str(SHOTS / "difference.png"))
    with page.expect_download() as download_info:
        card.locator(".download").click()
    target = tmp_path / "downloaded.png"
    download_info.value.save_as(target)
    assert_changed_only_in_face(target, astronaut, card)
    page.close()


def assert_changed_only_in_face(path: Path, original: np.ndarray, card) -> None:
    image = Image.open(path)
    assert image.format == "PNG" and not image.getexif()
    protected = np.asarray(image.convert("RGB"))
    assert protected.shape == original.shape
    changed = np.argwhere(np.any(protected != original, axis=2))
    assert changed.size, "the downloaded photo is the original"
    ys, xs = changed[:, 0], changed[:, 1]
    # the face is at about x 181..270, y 58..178 in the astronaut (the blur feathers a little)
    assert xs.min() > 120 and xs.max() < 330 and ys.min() > 0 and ys.max() < 240


def test_hide_from_detection_draws_boxes(browser, server: str, photos) -> None:
    page = open_page(browser, server)
    page.select_option("#strength", "low")
    protect(page, photos["astronaut"], "cloak", against="detection")
    card = page.locator(".card").first
    assert card.locator(".show-boxes").is_checked()
    assert card.locator(".before .boxes rect").count() == 1
    assert card.locator(".after .boxes rect").count() == 0
    assert "1 before, 0 after" in card.locator(".detections").inner_text()
    card.locator(".viewer").screenshot(path=str(SHOTS / "detection.png"))
    page.close()


def test_zip_download_on_a_phone(browser, server: str, photos) -> None:
    page = open_page(browser, server, width=390, height=844)
    page.set_input_files("#photos", [str(photos["astronaut"]), str(photos["hopper"])])
    page.select_option("#method", "pixelate")
    page.click("#protect-button")
    page.wait_for_selector("#zip-button:not([hidden])", timeout=180_000)
    page.wait_for_selector(".card:nth-child(2) .faces table", timeout=60_000)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.locator(".card").first.screenshot(path=str(SHOTS / "protect-phone.png"))
    with page.expect_download() as download_info:
        page.click("#zip-button")

    data = Path(download_info.value.path()).read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert len(archive.namelist()) == 2
    jobs = "fetch('/api/v1/health').then(r => r.json()).then(h => h.jobs)"
    before = page.evaluate(jobs)
    page.click("#forget-button")
    page.wait_for_selector("#protect-status:has-text('forgotten')")
    assert page.evaluate(jobs) == before - 1
    page.close()


def test_is_it_still_me(browser, server: str, photos) -> None:
    page = open_page(browser, server, width=390, height=844)  # a phone
    page.set_input_files("#photo-a", str(photos["astronaut"]))
    page.set_input_files("#photo-b", str(photos["hopper"]))
    page.click("#compare-form button")
    page.wait_for_selector("#compare-result table", timeout=120_000)
    caption = page.locator("#compare-result caption").inner_text()
    assert caption.startswith("0 of ")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.locator("#compare").screenshot(path=str(SHOTS / "compare-phone.png"))
    page.close()


def test_keyboard_reaches_every_control(browser, server: str) -> None:
    page = open_page(browser, server)
    order = []
    for _ in range(14):
        page.keyboard.press("Tab")
        order.append(page.evaluate("document.activeElement.id || document.activeElement.name"))
    for control in ("photos", "against", "method", "strength", "protect-button"):
        assert control in order, order
    assert order.index("photos") < order.index("method") < order.index("protect-button")
    page.close()
