"""The photos of a batch as Ray actor calls (``protect --ray auto|ADDRESS``).

Each actor loads the models once (on its first photo) and keeps them until it is replaced after
its share of photos (as local workers are, when they run models); the photos are read and
written by path, so the inputs and the output folder must be on storage every node sees (the
same path everywhere). When an actor is lost with its node, its photos in flight go to the
other actors (a restarted actor could wait forever for the lost node's CPU); the manifest is
written by this process only, so each photo is recorded once whatever was retried.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Generator, Iterable, Iterator
from typing import Any

from facecloak.errors import FacecloakError
from facecloak.protect.runners import (
    AHEAD_PER_WORKER,
    OnStart,
    default_pool,
    release_freed_memory,
)
from facecloak.protect.work import PhotoJob, WorkSettings, protect_photo

logger = logging.getLogger(__name__)

TASK_RETRIES = 3
"""Times a photo is handed to another actor when its actor (or node) dies under it."""


class PhotoActor:
    """One Ray worker: the settings (and, after the first photo, the models) kept between calls."""

    def __init__(self, settings: WorkSettings) -> None:
        # One CPU per actor, as Ray reserves it: torch (imported by the first cloak, if any)
        # and onnxruntime read their thread count from here.
        os.environ["OMP_NUM_THREADS"] = "1"
        if "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(1)
        self.settings = settings

    def work(self, job: PhotoJob) -> dict:
        record = protect_photo(job, self.settings)
        release_freed_memory()
        return record


def run_on_ray(
    jobs: Iterable[PhotoJob],
    settings: WorkSettings,
    on_start: OnStart,
    address: str,
    actors: int | None = None,
) -> Generator[dict, None, None]:
    """The photos over ``actors`` Ray actors (default: one per CPU of the cluster) of the
    cluster at ``address`` (``auto``: the one this machine belongs to); a Ray session already
    open in this process is used as it is."""
    ray = _ray()
    opened_here = not ray.is_initialized()
    if opened_here:
        _connect(ray, address)
    remote = ray.remote(num_cpus=1, max_restarts=0)(PhotoActor)
    count = actors or max(1, int(ray.cluster_resources().get("CPU", 1)))
    # The settings go with each actor (not by object reference); each actor loads the models once
    # and is replaced after as many photos as a local worker (its memory creeps up likewise).
    recycle = default_pool(count, settings).photos_per_worker
    pool = ActorPool(lambda: remote.remote(settings), count, recycle)
    try:
        yield from pool.run(iter(jobs), on_start, ray)
    finally:
        for actor in pool.busy:
            ray.kill(actor)
        if opened_here:
            ray.shutdown()


class ActorPool:
    """Photos handed to the least busy live actor; the photos of an actor that dies (with its
    node) go to the others, up to :data:`TASK_RETRIES` times each. An actor given
    ``photos_per_actor`` photos gets no more and is replaced by a fresh one once it is idle."""

    def __init__(
        self, make_actor: Callable[[], Any], count: int, photos_per_actor: int | None = None
    ) -> None:
        self.make_actor = make_actor
        self.photos_per_actor = photos_per_actor
        self.busy: dict[Any, int] = {make_actor(): 0 for _ in range(count)}
        self.given: dict[Any, int] = dict.fromkeys(self.busy, 0)
        self.pending: dict[Any, tuple[PhotoJob, Any, int]] = {}

    def run(self, queue: Iterator[PhotoJob], on_start: OnStart, ray: Any) -> Iterator[dict]:
        self._refill(queue, on_start)
        while self.pending:
            [done], _ = ray.wait(list(self.pending), num_returns=1)
            job, actor, attempts = self.pending.pop(done)
            if actor in self.busy:
                self.busy[actor] -= 1
            try:
                record = ray.get(done)
            except ray.exceptions.RayActorError:
                self._lost(actor, job, attempts)
                continue
            except ray.exceptions.RayError as exc:
                record = {"input": str(job.path), "status": "error", "reason": f"{job.path}: {exc}"}
            self._replace_if_spent(actor, ray)
            yield {**record, "input": str(job.path)}
            self._refill(queue, on_start)

    def _refill(self, queue: Iterator[PhotoJob], on_start: OnStart) -> None:
        while self._open() and len(self.pending) < len(self.busy) * AHEAD_PER_WORKER:
            job = next(queue, None)
            if job is None:
                return
            on_start(job)
            self._submit(job, 0)

    def _open(self) -> list[Any]:
        """The actors that may take another photo."""
        limit = self.photos_per_actor
        return [a for a in self.busy if limit is None or self.given[a] < limit]

    def _submit(self, job: PhotoJob, attempts: int) -> None:
        actor = min(self._open() or self.busy, key=self.busy.__getitem__)
        absolute = PhotoJob(job.path.absolute(), job.destination.absolute())
        self.pending[actor.work.remote(absolute)] = (job, actor, attempts)
        self.busy[actor] += 1
        self.given[actor] += 1

    def _replace_if_spent(self, actor: Any, ray: Any) -> None:
        limit = self.photos_per_actor
        if limit is None or actor not in self.busy:
            return
        if self.given[actor] >= limit and self.busy[actor] == 0:
            ray.kill(actor)
            del self.busy[actor], self.given[actor]
            fresh = self.make_actor()
            self.busy[fresh], self.given[fresh] = 0, 0

    def _lost(self, actor: Any, job: PhotoJob, attempts: int) -> None:
        if self.busy.pop(actor, None) is not None:
            self.given.pop(actor, None)
            logger.warning("a Ray actor died (its node gone?); its photos go to the others")
        if not self.busy:
            raise FacecloakError(
                "every Ray actor died; the photos finished so far are in the manifest: run the "
                "same command again to go on"
            )
        if attempts >= TASK_RETRIES:
            raise FacecloakError(f"{job.path}: lost with its Ray actor {attempts + 1} times")
        self._submit(job, attempts + 1)


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise FacecloakError(
            "--ray needs Ray: pip install 'facecloak[ray]' (on every node of the cluster)"
        ) from None
    return ray


def _connect(ray: Any, address: str) -> None:
    try:
        ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise FacecloakError(
            f"--ray {address}: no Ray cluster there ({exc}); start one with `ray start --head` "
            "(see the README) or give its address"
        ) from exc
