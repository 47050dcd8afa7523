"""Protect jobs: a bounded queue, one worker thread per core, results kept in memory only.

A job is a few uploaded photos and the options to protect them with. :meth:`JobStore.submit`
refuses a job when the queue is full (:class:`QueueFull`, a 429); the workers take jobs in
order and run ``process`` on each photo. Jobs are forgotten ``ttl`` seconds after they were
last read, or at once on :meth:`JobStore.delete`; nothing is ever written to disk.
"""

from __future__ import annotations

import logging
import queue
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from facecloak.errors import FacecloakError

logger = logging.getLogger(__name__)


class QueueFull(Exception):
    """Every queue slot is taken: try again later (HTTP 429)."""


@dataclass
class Photo:
    """One photo of a job: its upload until processed, then its results."""

    name: str
    upload: bytes | None
    status: str = "queued"
    progress: float = 0.0
    error: str | None = None
    report: dict | None = None
    files: dict[str, bytes] = field(default_factory=dict)
    """``protected`` and ``difference`` PNGs once done."""

    def to_dict(self, number: int) -> dict:
        return {
            "n": number,
            "name": self.name,
            "status": self.status,
            "progress": round(self.progress, 4),
            "error": self.error,
            "result": self.report,
        }


@dataclass
class Job:
    id: str
    options: dict
    photos: list[Photo]
    touched: float = field(default_factory=time.monotonic)

    @property
    def status(self) -> str:
        states = {photo.status for photo in self.photos}
        if states & {"queued", "running"}:
            return "running" if states - {"queued"} else "queued"
        return "failed" if states == {"failed"} else "done"

    @property
    def progress(self) -> float:
        return sum(photo.progress for photo in self.photos) / len(self.photos)

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "status": self.status,
            "progress": round(self.progress, 4),
            "options": self.options,
            "photos": [photo.to_dict(n) for n, photo in enumerate(self.photos)],
        }


Process = Callable[[Photo, dict, Callable[[float], None]], None]
"""``process(photo, options, report_progress)`` fills ``photo.report`` and ``photo.files``."""


class JobStore:
    """The jobs in memory, their queue and their worker threads."""

    def __init__(self, process: Process, workers: int, queue_size: int, ttl: float) -> None:
        self._process = process
        self._ttl = ttl
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._queue: queue.Queue[Job] = queue.Queue(maxsize=queue_size)
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._work, name=f"facecloak-worker-{i}", daemon=True)
            for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, options: dict, photos: list[Photo]) -> Job:
        """Queue a new job; raises :class:`QueueFull` when no slot is free."""
        job = Job(secrets.token_urlsafe(12), options, photos)
        with self._lock:
            self._expire()
            try:
                self._queue.put_nowait(job)
            except queue.Full:
                raise QueueFull("the server is busy: every job slot is taken; retry soon") from None
            self._jobs[job.id] = job
        return job

    def get(self, job_id: str) -> Job | None:
        """The job (its TTL restarts), or ``None`` when unknown or expired."""
        with self._lock:
            self._expire()
            job = self._jobs.get(job_id)
            if job is not None:
                job.touched = time.monotonic()
            return job

    def delete(self, job_id: str) -> bool:
        with self._lock:
            return self._jobs.pop(job_id, None) is not None

    def __len__(self) -> int:
        with self._lock:
            return len(self._jobs)

    @property
    def waiting(self) -> int:
        return self._queue.qsize()

    def close(self, timeout: float = 5.0) -> None:
        """Stop the workers (a photo being processed finishes first)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)

    def _expire(self) -> None:
        now = time.monotonic()
        for job_id in [k for k, j in self._jobs.items() if j.status in ("done", "failed")]:
            if now - self._jobs[job_id].touched > self._ttl:
                del self._jobs[job_id]
                logger.info("job %s expired", job_id)

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                job = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            for photo in job.photos:
                self._run_photo(job, photo)
            job.touched = time.monotonic()
            self._queue.task_done()

    def _run_photo(self, job: Job, photo: Photo) -> None:
        photo.status = "running"

        def report(fraction: float) -> None:
            photo.progress = min(max(fraction, 0.0), 0.99)

        try:
            self._process(photo, job.options, report)
            photo.status = "done"
        except FacecloakError as exc:
            photo.status, photo.error = "failed", " ".join(str(exc).split())
            logger.info("job %s: %s failed: %s", job.id, photo.name, photo.error)
        except Exception:  # a failed photo must not kill the worker
            photo.status, photo.error = "failed", "internal error; see the server's log"
            logger.exception("job %s: %s failed", job.id, photo.name)
        finally:
            photo.progress = 1.0
            photo.upload = None
