"""The line-up page in a real headless Chromium (Debian's, driven by Playwright): answer, reload
(answers kept in localStorage), export the JSON and score it.

Screenshots go to ``build/web/``. Skips with a reason where Playwright or Chromium is absent.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from facecloak.datasets import read_labelled_folder
from facecloak.evaluate.lineup import score_lineup, write_lineup

playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright for Python is absent (pip install -e '.[dev]')"
)

CHROMIUM = Path(os.environ.get("FACECLOAK_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
SHOTS = Path(__file__).resolve().parents[2] / "build" / "web"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"{CHROMIUM} absent: apt-get install chromium (make test does it as root)",
    ),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def lineup(lineup_folder, tmp_path_factory):
    def darken(rgb: np.ndarray, face) -> np.ndarray:
        return rgb // 2

    outdir = tmp_path_factory.mktemp("lineup-page")
    files = write_lineup(read_labelled_folder(lineup_folder), darken, outdir, seed=1)
    return files, json.loads(files.key.read_text())


def test_answer_reload_export_and_score(browser, lineup):
    files, key = lineup
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    page.goto(files.page.as_uri())
    assert page.text_content("#trial-number") == "Photo 1 of 2"
    assert page.locator("#grid button").count() == 9
    assert page.evaluate("document.getElementById('probe-img').naturalWidth") > 0
    page.click(f'#grid button[data-candidate="{key["trials"]["t1"]["answer"]}"]')
    assert page.text_content("#trial-number") == "Photo 2 of 2"
    page.reload()
    assert page.text_content("#progress") == "1 / 2 answered"
    assert page.text_content("#trial-number") == "Photo 2 of 2"  # the first unanswered
    wrong = next(
        button.get_attribute("data-candidate")
        for button in page.locator("#grid button").all()
        if button.get_attribute("data-candidate") != key["trials"]["t2"]["answer"]
    )
    page.click(f'#grid button[data-candidate="{wrong}"]')
    assert "2 / 2 answered" in page.text_content("#progress")
    stored = page.evaluate(f"localStorage.getItem('facecloak-lineup:{key['test']}')")
    assert json.loads(stored) == {"t1": key["trials"]["t1"]["answer"], "t2": wrong}
    with page.expect_download() as download:
        page.click("#export")
    answers = json.loads(Path(download.value.path()).read_text())
    assert answers["test"] == key["test"]
    assert json.loads(page.input_value("#export-text"))["answers"] == answers["answers"]
    score = score_lineup([answers], key)
    assert (score.right, score.answered) == (1, 2)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "lineup.png"))
    context.close()
