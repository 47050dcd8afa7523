"""Where the photos of a batch are worked on: in this process, or in a pool of local worker
processes that each load the models once (and, when they run models, are replaced after their
share of photos, so their memory stays bounded). Every runner yields the manifest records as photos
finish (in any order) and calls ``on_start(job)`` just before a photo is handed out, so the
caller can record it; at most a few photos per worker are handed out ahead of time."""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from itertools import islice
from typing import Any

from facecloak.errors import FacecloakError
from facecloak.protect.progress import Progress
from facecloak.protect.work import PhotoJob, WorkSettings, protect_photo

logger = logging.getLogger(__name__)

OnStart = Callable[[PhotoJob], None]
AHEAD_PER_WORKER = 2
"""Photos handed to each worker ahead of its current one (keeps them busy, bounds memory)."""


@dataclass(frozen=True)
class PoolOptions:
    """How the local worker pool runs.

    Attributes:
        workers: worker processes.
        photos_per_worker: replace a worker after this many photos (``None``: never), which
            returns whatever memory it has gathered (allocator arenas, kernel caches).
        kernel_cache: oneDNN's primitive cache capacity in each worker (``None``: its default).
        trim_memory: after each photo, hand the heap pages freed during it back to the system
            (glibc's ``malloc_trim``; glibc keeps them, and a worker's memory creeps up).
    """

    workers: int
    photos_per_worker: int | None = None
    kernel_cache: int | None = None
    trim_memory: bool = True


MODEL_PHOTOS_PER_WORKER = 200
"""Photos after which a worker that runs models is replaced by a fresh one. Such a worker's
memory creeps up (about 0.6 MB per cloaked photo, mostly oneDNN's kernel cache, which cannot be
capped without slowing cloaks by a third: ``benchmarks/worker_memory.py``); a fresh worker costs
one model load (seconds), against about half an hour of cloaks."""


def default_pool(workers: int, settings: WorkSettings) -> PoolOptions:
    """The pool a run gets unless told otherwise: workers that run models are replaced every
    :data:`MODEL_PHOTOS_PER_WORKER` photos, so their memory stays bounded over any number of
    photos; blur, pixelate and mask workers (no model but the detector) are kept."""
    from facecloak.protect.pipeline import covers_only

    recycle = None if covers_only(settings.config) else MODEL_PHOTOS_PER_WORKER
    return PoolOptions(workers, photos_per_worker=recycle)


def default_workers() -> int:
    """One worker per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def run_inline(
    jobs: Iterable[PhotoJob], settings: WorkSettings, on_start: OnStart, progress: Progress | None
) -> Iterator[dict]:
    """One photo after another in this process (``--workers 1``)."""
    for job in jobs:
        on_start(job)
        yield protect_photo(job, settings, progress)


def run_pool(
    jobs: Iterable[PhotoJob], settings: WorkSettings, on_start: OnStart, options: PoolOptions
) -> Iterator[dict]:
    """The photos over ``options.workers`` processes (started fresh, not forked, so no thread
    pool or lock of this process is inherited half-held). With ``photos_per_worker``, a fresh
    pool takes over every ``photos_per_worker x workers`` photos: not ``max_tasks_per_child``,
    which can deadlock when a worker exits at its limit (CPython gh-115634, 3.11 to 3.15)."""
    if options.photos_per_worker is None:
        yield from _run_one_pool(jobs, settings, on_start, options)
        return
    queue = iter(jobs)
    while chunk := list(islice(queue, options.photos_per_worker * options.workers)):
        yield from _run_one_pool(chunk, settings, on_start, options)


def _run_one_pool(
    jobs: Iterable[PhotoJob], settings: WorkSettings, on_start: OnStart, options: PoolOptions
) -> Iterator[dict]:
    threads = max(1, default_workers() // options.workers)
    executor = ProcessPoolExecutor(
        options.workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start_worker,
        initargs=(settings, threads, options.kernel_cache, options.trim_memory),
    )
    finished = False
    try:
        yield from windowed(
            jobs, lambda job: executor.submit(_work, job), options.workers, on_start
        )
        finished = True
    finally:
        _stop(executor, finished)


def windowed(
    jobs: Iterable[PhotoJob], submit: Callable[[PhotoJob], Future], slots: int, on_start: OnStart
) -> Iterator[dict]:
    """Keep ``slots * AHEAD_PER_WORKER`` photos submitted; yield records as they finish."""
    queue = iter(jobs)
    pending: dict[Future, PhotoJob] = {}

    def refill() -> None:
        while len(pending) < slots * AHEAD_PER_WORKER and (job := next(queue, None)) is not None:
            on_start(job)
            pending[submit(job)] = job

    refill()
    while pending:
        done, _ = wait(pending, return_when=FIRST_COMPLETED)
        for future in done:
            yield _record(future, pending.pop(future))
        refill()


def _record(future: Future, job: PhotoJob) -> dict:
    try:
        return future.result()
    except BrokenProcessPool as exc:
        raise FacecloakError(
            "a worker process died (out of memory?); the photos finished so far are in the "
            "manifest: run the same command again to go on"
        ) from exc
    except Exception as exc:  # one photo's unforeseen failure must not end the batch
        logger.exception("%s: failed", job.path)
        return {"input": str(job.path), "status": "error", "reason": f"{job.path}: {exc}"}


def _stop(executor: ProcessPoolExecutor, finished: bool) -> None:
    """Wait for a finished pool; end an interrupted one now, without its photos in flight."""
    if finished:
        executor.shutdown(wait=True)
        return
    processes = list((getattr(executor, "_processes", None) or {}).values())
    executor.shutdown(wait=False, cancel_futures=True)
    for process in processes:  # the executor has no public way to stop work in flight
        process.terminate()
    for process in processes:
        process.join(timeout=10)


_SETTINGS: WorkSettings | None = None
_TRIM_MEMORY = False


def _start_worker(
    settings: WorkSettings, threads: int, kernel_cache: int | None, trim_memory: bool
) -> None:
    """Each worker: Ctrl-C is the parent's to handle; its share of the cores; the settings."""
    global _SETTINGS, _TRIM_MEMORY
    _TRIM_MEMORY = trim_memory
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if kernel_cache is not None:  # read by oneDNN when it first builds a kernel
        os.environ["ONEDNN_PRIMITIVE_CACHE_CAPACITY"] = str(kernel_cache)
    os.environ["OMP_NUM_THREADS"] = str(threads)  # torch reads it when a cloak first imports it
    if "torch" in sys.modules:  # already imported (a target's embeddings came with the settings)
        sys.modules["torch"].set_num_threads(threads)
    _SETTINGS = settings


def _work(job: PhotoJob) -> dict[str, Any]:
    assert _SETTINGS is not None, "worker not started"
    record = protect_photo(job, _SETTINGS)
    if _TRIM_MEMORY:
        release_freed_memory()
    return record


def release_freed_memory() -> bool:
    """Return the heap's free pages to the system (glibc only; ``False`` elsewhere)."""
    try:
        return bool(ctypes.CDLL("libc.so.6").malloc_trim(0))
    except (OSError, AttributeError):
        return False
