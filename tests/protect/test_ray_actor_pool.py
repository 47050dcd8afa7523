"""The Ray actor pool's bookkeeping, on a stand-in for Ray (runs without Ray installed): every
photo once, and actors replaced once they have had their share of photos."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from facecloak.protect.ray_runner import ActorPool
from facecloak.protect.work import PhotoJob


class FakeActor:
    def __init__(self, log: list) -> None:
        self.log, self.done, self.killed = log, [], False
        self.work = SimpleNamespace(remote=self._call)

    def _call(self, job: PhotoJob) -> tuple:
        assert not self.killed, "a photo went to a killed actor"
        self.done.append(job.path)
        return (self, job)


def _fake_ray(log: list) -> SimpleNamespace:
    def wait(refs, num_returns):
        return refs[:1], refs[1:]

    def get(ref):
        return {"status": "protected", "actor": id(ref[0])}

    def kill(actor):
        assert not any(ref[0] is actor for ref in log[-1]), "killed with photos in flight"
        actor.killed = True

    errors = SimpleNamespace(RayActorError=RuntimeError, RayError=OSError)
    return SimpleNamespace(wait=wait, get=get, kill=kill, exceptions=errors)


def _jobs(count: int) -> list[PhotoJob]:
    return [PhotoJob(Path(f"/in/p{i}.jpg"), Path(f"/out/p{i}.jpg")) for i in range(count)]


def _run(count: int, actors: int, limit: int | None):
    made: list[FakeActor] = []
    pending_log: list = []

    def make():
        made.append(FakeActor(pending_log))
        return made[-1]

    pool = ActorPool(make, actors, limit)
    pending_log.append(pool.pending)
    records = list(pool.run(iter(_jobs(count)), lambda job: None, _fake_ray(pending_log)))
    return pool, made, records


def test_each_photo_once_and_actors_replaced_after_their_share():
    pool, made, records = _run(count=11, actors=2, limit=3)
    assert sorted(r["input"] for r in records) == sorted(str(j.path) for j in _jobs(11))
    assert all(len(actor.done) <= 3 for actor in made)
    assert len(made) >= 4 and sum(a.killed for a in made) == len(made) - len(pool.busy)
    assert all(not actor.killed for actor in pool.busy)


def test_without_a_share_the_actors_are_kept():
    _, made, records = _run(count=9, actors=2, limit=None)
    assert len(records) == 9 and len(made) == 2 and not any(a.killed for a in made)
