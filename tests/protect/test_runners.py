"""The local worker pool: which runs get workers replaced, and that replacing them loses nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from facecloak.data import samples
from facecloak.protect import ProtectConfig, runners
from facecloak.protect.runners import (
    MODEL_PHOTOS_PER_WORKER,
    PoolOptions,
    default_pool,
    run_pool,
)
from facecloak.protect.work import PhotoJob, WorkSettings


def test_workers_that_run_models_are_replaced_and_blur_workers_kept():
    cloak = default_pool(2, WorkSettings(ProtectConfig(), max_pixels=10**7))
    assert cloak.photos_per_worker == MODEL_PHOTOS_PER_WORKER and cloak.workers == 2
    blur = default_pool(2, WorkSettings(ProtectConfig(method="blur"), max_pixels=10**7))
    assert blur.photos_per_worker is None


def test_a_worker_replaced_after_every_photo_still_does_every_photo(tmp_path: Path):
    hopper = Image.fromarray(samples.grace_hopper()).resize((128, 160))
    jobs = []
    for index in range(3):
        source = tmp_path / f"p{index}.jpg"
        Image.fromarray(np.asarray(hopper)).save(source)
        jobs.append(PhotoJob(source, tmp_path / "out" / source.name))
    (tmp_path / "out").mkdir()
    settings = WorkSettings(ProtectConfig(method="blur"), max_pixels=10**7)
    started: list[Path] = []
    records = list(
        run_pool(jobs, settings, lambda job: started.append(job.path), PoolOptions(2, 1))
    )
    assert sorted(r["input"] for r in records) == sorted(str(j.path) for j in jobs)
    assert {r["status"] for r in records} == {"protected"}
    assert all(j.destination.is_file() for j in jobs) and len(started) == 3


def test_a_fresh_pool_takes_over_after_each_share_of_photos(monkeypatch, tmp_path: Path):
    shares: list[int] = []

    def one_pool(jobs, settings, on_start, options):
        shares.append(len(list(jobs)))
        return iter(())

    monkeypatch.setattr(runners, "_run_one_pool", one_pool)
    jobs = [PhotoJob(tmp_path / f"p{i}.jpg", tmp_path / f"o{i}.jpg") for i in range(7)]
    settings = WorkSettings(ProtectConfig(method="blur"), max_pixels=10**7)
    list(run_pool(jobs, settings, lambda job: None, PoolOptions(2, photos_per_worker=2)))
    assert shares == [4, 3]
    shares.clear()
    list(run_pool(jobs, settings, lambda job: None, PoolOptions(2)))
    assert shares == [7]
