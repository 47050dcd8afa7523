"""The photos of a batch as Ray actor calls (``protect --ray auto|ADDRESS``).

Each actor loads the models once (on its first photo) and keeps them; the photos are read and
written by path, so the inputs and the output folder must be on storage every node sees (the
same path everywhere). An actor lost with its node is restarted elsewhere and its photos in
flight are retried; the manifest is written by this process only, so each photo is recorded
once whatever was retried.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Iterable
from concurrent.futures import Future
from typing import Any

from facecloak.errors import FacecloakError
from facecloak.protect.runners import OnStart, windowed
from facecloak.protect.work import PhotoJob, WorkSettings, protect_photo

logger = logging.getLogger(__name__)

TASK_RETRIES = 3
"""Times a photo is retried when its actor (or node) dies under it."""


class PhotoActor:
    """One Ray worker: the settings (and, after the first photo, the models) kept between calls."""

    def __init__(self, settings: WorkSettings) -> None:
        import torch

        torch.set_num_threads(1)  # one CPU per actor, as Ray reserves it
        self.settings = settings

    def work(self, job: PhotoJob) -> dict:
        return protect_photo(job, self.settings)


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
    remote = ray.remote(num_cpus=1, max_restarts=-1, max_task_retries=TASK_RETRIES)(PhotoActor)
    count = actors or max(1, int(ray.cluster_resources().get("CPU", 1)))
    # The settings go with each actor (not by object reference), so a restarted actor has them.
    pool = [remote.remote(settings) for _ in range(count)]
    turn = iter(range(1 << 62))
    original: dict[str, PhotoJob] = {}

    def submit(job: PhotoJob) -> Future:
        absolute = PhotoJob(job.path.absolute(), job.destination.absolute())
        original[str(absolute.path)] = job
        return pool[next(turn) % count].work.remote(absolute).future()

    try:
        for record in windowed(jobs, submit, count, on_start):
            job = original.pop(record["input"], None)
            yield record if job is None else {**record, "input": str(job.path)}
    finally:
        for actor in pool:
            ray.kill(actor)
        if opened_here:
            ray.shutdown()


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
