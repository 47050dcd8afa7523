"""The manifest of a ``protect`` run: one JSON line per photo, next to the outputs.

Lines are appended and flushed as each photo finishes, so a run killed at any moment (even by
``kill -9``) loses at most the photos in flight; a torn last line is ignored when read back. A
``started`` line is written before a photo is handed to a worker: it claims the photo's output
for this run, so a re-run may replace an output that a killed run wrote but never recorded.
The latest line about an input is the one that counts.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

logger = logging.getLogger(__name__)

MANIFEST_NAME = "facecloak-manifest.jsonl"
STARTED = "started"
DONE_WELL = ("protected", "skipped", "copied unchanged")
"""Statuses a re-run never repeats (while the photo, the settings and the output are unchanged)."""
NOT_OK = ("partial", "failed", "error")
"""Statuses that make a run not ok; a re-run repeats them only with ``--retry-failed``."""


def file_fingerprint(path: Path) -> dict[str, Any]:
    """``size``, ``mtime_ns`` and the ``sha256`` of ``path``'s content."""
    stat = path.stat()
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": digest.hexdigest()}


def settings_fingerprint(settings: dict[str, Any]) -> str:
    """A short digest of what decides an output (method, strength, flags...)."""
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Resume:
    """What a re-run does with the photos an earlier run recorded."""

    settings: str
    retry_failed: bool = False


class Manifest:
    """Reads the earlier lines of ``folder``'s manifest and appends this run's."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / MANIFEST_NAME
        self.latest: dict[str, dict] = _read(self.path)
        self._handle: IO[str] | None = None
        self._unwritable = False

    def claims(self, key: str) -> bool:
        """True when an earlier line of this manifest names ``key``'s output as its own."""
        return key in self.latest and "output" in self.latest[key]

    def finished(self, key: str, path: Path, resume: Resume) -> dict | None:
        """The earlier record of ``path`` if it needs no new work: the same file (size and
        modification time), the same settings, its output still there, and a status that is
        done (failures too, unless ``retry_failed``)."""
        record = self.latest.get(key)
        if record is None or record.get("settings") != resume.settings:
            return None
        status = record.get("status")
        if status not in DONE_WELL and (resume.retry_failed or status not in NOT_OK):
            return None
        try:
            stat = path.stat()
        except OSError:
            return None
        if (stat.st_size, stat.st_mtime_ns) != (record.get("size"), record.get("mtime_ns")):
            return None
        if "output" in record and not Path(record["output"]).is_file():
            return None
        return record

    def append(self, record: dict) -> None:
        """One line, flushed to the operating system before returning. A manifest that cannot
        be written (a read-only or full -o folder) is said once; the run goes on without it."""
        if self._unwritable:
            return
        try:
            self._write(json.dumps(record, default=str) + "\n")
        except OSError as error:
            self._unwritable = True
            logger.warning(
                "%s: could not be written (%s); this run cannot be resumed: check the free "
                "space and permissions of the -o folder",
                self.path,
                error.strerror or error,
            )

    def _write(self, line: str) -> None:
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = self.path.open("a", encoding="utf-8")
            if self.path.stat().st_size and not _ends_with_newline(self.path):
                self._handle.write("\n")  # after a torn line left by a killed run
        self._handle.write(line)
        self._handle.flush()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def _read(path: Path) -> dict[str, dict]:
    latest: dict[str, dict] = {}
    if not path.is_file():
        return latest
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, 1):
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                logger.warning("%s: line %d is torn (a killed run); ignored", path, number)
                continue
            if isinstance(record, dict) and "input" in record:
                latest[str(record["input"])] = record
    return latest


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as handle:
        handle.seek(-1, 2)
        return handle.read(1) == b"\n"
