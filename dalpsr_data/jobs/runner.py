"""``run_shards``: skip what is committed, run the rest locally or on Ray, commit, report.

See the package docstring (dalpsr_data/jobs/__init__.py) for the API and the protocol.
"""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from dalpsr_data.errors import reason_of
from dalpsr_data.jobs.ray_pool import run_on_ray
from dalpsr_data.jobs.types import Job, JobFailure, RayActors, RunResult, ShardStats
from dalpsr_data.jobs.worker import UnitCounts, execute
from dalpsr_data.progress import Progress
from dalpsr_data.ray_runtime import import_ray, init_ray, owns_ray, shutdown_ray

EXECUTORS = ("local", "ray")


def marker_exists(job: Job) -> bool:
    """The default commit test: the job has a marker and it is on disk."""
    return job.marker is not None and Path(job.marker).is_file()


class _Tracker:
    """Driver side: finished jobs plus the running jobs' unit counts -> the bar's position."""

    def __init__(self, progress: Progress | None, sizes: dict[str, int]) -> None:
        self.progress, self.sizes = progress, sizes
        self.finished = 0
        self.closed: set[str] = set()  # finished or failed: their unit counts no longer count
        self.partial: dict[str, int] = {}

    def counts_changed(self, snapshot: dict[str, int]) -> None:
        self.partial = snapshot
        self.refresh()

    def job_closed(self, job_id: str, done: bool) -> None:
        self.finished += self.sizes[job_id] if done else 0
        self.closed.add(job_id)
        self.refresh()

    def refresh(self) -> None:
        if self.progress is not None:
            running = sum(min(v, self.sizes.get(k, 0)) for k, v in self.partial.items()
                          if k not in self.closed)
            self.progress.update(self.finished + running)


def _run_local(jobs: Sequence[Job], fn: Callable[..., Any], finish: Callable, retries: int,
               setup: Callable[[], Any] | None, tracker: _Tracker) -> None:
    state = setup() if setup is not None else None
    counts = UnitCounts(listener=lambda: tracker.counts_changed(counts.snapshot()))
    for job in jobs:
        for attempt in range(1, retries + 2):
            try:
                result, seconds = execute(fn, job, state, counts, setup is not None)
            except Exception as e:  # retried, then recorded by name; the other jobs go on
                counts.forget(job.id)
                if attempt > retries:
                    finish(JobFailure(job.id, reason_of(e), attempt))
                    traceback.clear_frames(e.__traceback__)
                continue
            counts.forget(job.id)
            finish(ShardStats.of(job, result, seconds, attempt))
            break


def run_shards(jobs: Iterable[Job], fn: Callable[..., Any], *, executor: str = "local",
               retries: int = 2, committed: Callable[[Job], bool] = marker_exists,
               setup: Callable[[], Any] | None = None, actors: RayActors = RayActors(),
               address: str | None = None, num_cpus: int | None = None, task_cpus: float = 1,
               max_in_flight: int | None = None, progress: Progress | None = None,
               on_done: Callable[[ShardStats | JobFailure], None] | None = None) -> RunResult:
    """Run every job not ``committed`` with ``fn``; see the package docstring."""
    if executor not in EXECUTORS:
        raise ValueError(f"executor must be one of {EXECUTORS}, got {executor!r}")
    jobs = list(jobs)
    ids = [j.id for j in jobs]
    if len(set(ids)) != len(ids):
        raise ValueError("job ids must be unique")
    skip = {j.id for j in jobs if committed(j)}
    skipped = [j for j in jobs if j.id in skip]
    todo = [j for j in jobs if j.id not in skip]
    if progress is not None:  # the bar starts where the earlier runs stopped
        progress.before = sum(j.size for j in skipped)
    tracker = _Tracker(progress, {j.id: j.size for j in todo})
    done: list[ShardStats] = []
    failed: list[JobFailure] = []

    def finish(outcome: ShardStats | JobFailure) -> None:
        (done if isinstance(outcome, ShardStats) else failed).append(outcome)
        tracker.job_closed(outcome.id, isinstance(outcome, ShardStats))
        if on_done is not None:
            on_done(outcome)

    clock = progress or Progress("jobs", sum(j.size for j in jobs), "units", enabled=False)
    started = bool(todo) and executor == "ray" and init_ray(address, num_cpus=num_cpus, quiet=True)
    try:
        clock.start()
        if not todo:  # all committed: no worker state (e.g. loading the caption models) to build
            pass
        elif executor == "local":
            _run_local(todo, fn, finish, retries, setup, tracker)
        else:
            def poll(counts: Any) -> None:
                tracker.counts_changed(_snapshot(counts))

            # An embedded Ray started here is shut down below, which stops its tasks.
            run_on_ray(todo, fn, finish, retries=retries, setup=setup, actors=actors,
                       task_cpus=task_cpus, max_in_flight=max_in_flight, poll=poll,
                       cancel_on_interrupt=not (started and owns_ray()))
    finally:
        clock.close()
        if started:  # an embedded Ray is stopped; a cluster is only disconnected from
            shutdown_ray()
    return RunResult(tuple(done), tuple(failed), tuple(j.id for j in skipped), clock.elapsed)


def _snapshot(counts: Any) -> dict[str, int]:
    return import_ray().get(counts.snapshot.remote())
