"""The progress counts of running jobs: how often a Ray worker reports, and the one counts
actor per Ray connection (its cost was a tenth of a 2-worker build's CPU)."""

from __future__ import annotations

import time

import pytest

from dalpsr_data.jobs import worker
from dalpsr_data.jobs.ray_pool import counts_actor
from dalpsr_data.jobs.types import Job
from dalpsr_data.jobs.worker import REMOTE_EVERY_S, UnitCounts, advance, execute


class _RemoteMethod:
    def __init__(self, calls: list, name: str) -> None:
        self.calls, self.name = calls, name

    def remote(self, *args):  # what a Ray actor handle's method offers
        self.calls.append((self.name, *args))


class _FakeActor:
    """Stands in for a Ray actor handle: every method has .remote and records its calls."""

    def __init__(self) -> None:
        self.calls: list = []
        self.start = _RemoteMethod(self.calls, "start")
        self.add = _RemoteMethod(self.calls, "add")


def test_a_remote_count_goes_out_at_most_every_interval(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(worker.time, "monotonic", lambda: now[0])
    actor = _FakeActor()

    def job_fn(payload):
        for step in range(10):  # ten units, 0.2 s apart: 2 s of work
            now[0] += 0.2
            advance(1)
        return payload

    result, _ = execute(job_fn, Job("j", 7, size=10), None, actor, False)
    assert result == 7
    # sent when 0.5 s have passed since the last send (at 0.6, 1.2 and 1.8 s), each carrying
    # the units since the one before, the first replacing what an earlier attempt left; the
    # last unit needs no call (the driver counts the finished job whole); no call at the start
    assert actor.calls == [("add", "j", 3, True), ("add", "j", 3, False), ("add", "j", 3, False)]
    assert REMOTE_EVERY_S == 0.5
    advance(1)  # outside a job: nothing is sent
    assert len(actor.calls) == 3
    counts = UnitCounts()  # what the actor does with them: a retried attempt starts over
    counts.add("j", 7)
    for call in actor.calls:
        counts.add(*call[1:])
    assert counts.snapshot() == {"j": 9}


def test_a_local_count_is_told_every_unit():
    seen = []
    counts = UnitCounts(listener=lambda: seen.append(dict(counts.counts)))

    def job_fn(payload):
        for _ in range(3):
            advance(1)
        return None

    execute(job_fn, Job("k", None, size=3), None, counts, False)
    assert seen == [{"k": 1}, {"k": 2}, {"k": 3}]


def test_one_counts_actor_per_connection_emptied_for_each_run(ray_local):
    import ray

    first = counts_actor(ray)
    ray.get(first.add.remote("old-job", 5))
    second = counts_actor(ray)
    assert second._actor_id == first._actor_id  # the same actor: no new worker process
    assert ray.get(second.snapshot.remote()) == {}  # the earlier run's units are gone
    ray.kill(second, no_restart=True)  # asynchronous: wait until a call finds it gone
    deadline = time.monotonic() + 30
    with pytest.raises(ray.exceptions.RayActorError):
        while time.monotonic() < deadline:
            ray.get(second.snapshot.remote())
            time.sleep(0.05)
    third = counts_actor(ray)  # a dead actor is replaced
    assert third._actor_id != first._actor_id
    ray.get(third.add.remote("new", 1))
    assert ray.get(third.snapshot.remote()) == {"new": 1}
