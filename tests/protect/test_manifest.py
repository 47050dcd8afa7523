from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from facecloak.protect.manifest import Manifest


def test_an_unwritable_manifest_is_said_once_and_the_run_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    manifest = Manifest(tmp_path)

    def full(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "open", full)
    with caplog.at_level(logging.WARNING):
        manifest.append({"input": "a.jpg", "status": "protected"})
        manifest.append({"input": "b.jpg", "status": "protected"})
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "No space left on device" in warnings[0]
    assert "free space" in warnings[0]


def test_a_manifest_records_one_line_per_append(tmp_path: Path) -> None:
    manifest = Manifest(tmp_path)
    manifest.append({"input": "a.jpg", "status": "protected"})
    manifest.close()
    assert [json.loads(line) for line in manifest.path.read_text().splitlines()] == [
        {"input": "a.jpg", "status": "protected"}
    ]
