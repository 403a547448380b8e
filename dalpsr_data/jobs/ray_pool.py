"""The Ray side of ``run_shards``: plain tasks, or actors that hold a state (a model).

Both share one protocol with the local loop: an attempt that raises, or whose worker or
actor process dies (kill -9, OOM, a segfault, a lost node), is retried up to ``retries``
times; then the job is a :class:`JobFailure` and the other jobs go on. A dead actor is
replaced by a new one (its state built again); a job whose attempt raised keeps its actor.
Retries are counted here on the driver, never by Ray, so the two paths count alike.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter, deque
from typing import Any, Callable, Sequence

from dalpsr_data.config_io import ConfigError
from dalpsr_data.errors import reason_of
from dalpsr_data.jobs.types import Job, JobFailure, RayActors, ShardStats
from dalpsr_data.jobs.worker import JobActor, UnitCounts, run_task
from dalpsr_data.ray_runtime import import_ray

Finish = Callable[[ShardStats | JobFailure], None]
_COUNTS: dict[tuple[str, str], Any] = {}  # (node id, Ray job id) -> that connection's counts actor


def counts_actor(ray: Any) -> Any:
    """The UnitCounts actor of this Ray connection, emptied for a new run.

    One per connection, not per run: an actor takes a worker process and Ray starts another
    (0.2-0.5 s of CPU), which a build's first seconds would share with its workers; a run
    after another in one process (a benchmark, the recipe) reuses it. It ends with the
    connection (an actor is owned by its driver).
    """
    ctx = ray.get_runtime_context()
    key = (ctx.get_node_id(), ctx.get_job_id())
    actor = _COUNTS.get(key)
    if actor is not None:
        try:
            ray.get(actor.reset.remote())
            return actor
        except ray.exceptions.RayActorError:  # killed: make a new one
            pass
    _COUNTS.clear()
    actor = _COUNTS[key] = ray.remote(num_cpus=0)(UnitCounts).remote()
    return actor


def actor_slots(ray: Any, spec: RayActors) -> int:
    """How many actors the cluster can host at once (an actor that never starts would hang)."""
    res = ray.cluster_resources()
    slots = int(res.get("CPU", 0) // spec.num_cpus) if spec.num_cpus > 0 else spec.count
    if spec.num_gpus > 0:
        slots = min(slots, int(res.get("GPU", 0) // spec.num_gpus))
    if slots < 1:
        gpu = f", {spec.num_gpus:g} GPU" if spec.num_gpus else ""
        raise ConfigError(f"the Ray cluster has no room for one actor ({spec.num_cpus:g} CPU{gpu}; "
                          f"cluster: {dict(res)}){': ' + spec.hint if spec.hint else ''}")
    return slots


def run_on_ray(jobs: Sequence[Job], fn: Callable[..., Any], finish: Finish, *, retries: int,
               setup: Callable[[], Any] | None, actors: RayActors, task_cpus: float,
               max_in_flight: int | None, poll: Callable[[Any], None],
               poll_seconds: float = 0.5, cancel_on_interrupt: bool = True) -> None:
    """Run ``jobs`` on the Ray this process is connected to; ``finish`` gets every outcome.

    ``poll(counts_actor)`` is called about every ``poll_seconds`` (the progress bar; a job's
    end moves the bar through ``finish``).
    ``cancel_on_interrupt``: on Ctrl-C/SIGTERM, force-cancel the running tasks (a cluster
    that outlives this run would go on running them). False where the caller shuts its
    own Ray down right after: that stops them anyway, and Ray 2.60's force cancel races
    with a task's reply and can crash the driver's core ("Tried to complete task that was
    not pending", exit 1 instead of 130/143).
    """
    ray = import_ray()
    counts = counts_actor(ray)
    pending: deque[Job] = deque(jobs)
    attempts: Counter[str] = Counter()
    running: dict[Any, tuple[Job, Any]] = {}  # object ref -> (job, actor or None)
    idle: list[Any] = []
    if setup is not None:
        actor_cls = ray.remote(num_cpus=actors.num_cpus, num_gpus=actors.num_gpus,
                               max_restarts=0, max_task_retries=0)(JobActor)
        n_actors = min(actors.count, len(jobs), actor_slots(ray, actors))
        idle = [actor_cls.remote(setup) for _ in range(n_actors)]
    else:
        task = ray.remote(num_cpus=task_cpus, max_retries=0)(run_task)
        capacity = max(1, max_in_flight or int(ray.cluster_resources().get("CPU", 1) // max(task_cpus, 1e-9)))

    def room() -> bool:
        return bool(idle) if setup is not None else len(running) < capacity

    def failed(job: Job, error: BaseException) -> None:
        if attempts[job.id] <= retries:
            pending.appendleft(job)  # redone first: its partial output is the oldest
        else:
            finish(JobFailure(job.id, reason_of(error), attempts[job.id]))

    polled = time.monotonic()
    try:
        while pending or running:
            while pending and room():
                job = pending.popleft()
                if setup is not None:
                    actor = idle.pop()
                    running[actor.run.remote(fn, job, counts)] = (job, actor)
                else:
                    running[task.remote(fn, job, counts)] = (job, None)
            done, _ = ray.wait(list(running), num_returns=1, timeout=poll_seconds)
            if time.monotonic() - polled >= poll_seconds:  # not at every finished job: each
                poll(counts)                              # poll is a call on the counts actor
                polled = time.monotonic()
            for ref in done:
                job, actor = running.pop(ref)
                attempts[job.id] += 1
                try:
                    result, seconds = ray.get(ref)
                except ray.exceptions.RayActorError as e:  # the actor's process is gone
                    ray.kill(actor, no_restart=True)
                    idle.append(actor_cls.remote(setup))
                    failed(job, e)
                except Exception as e:  # the job raised, or a task's worker died
                    if actor is not None:
                        idle.append(actor)
                    failed(job, e)
                else:
                    if actor is not None:
                        idle.append(actor)
                    finish(ShardStats.of(job, result, seconds, attempts[job.id]))
        poll(counts)  # the last word of the counts (the bar's final position)
    except BaseException:  # Ctrl-C/SIGTERM: on a cluster the tasks would otherwise run on
        for ref, (_, actor) in running.items() if cancel_on_interrupt else ():
            if actor is None:
                with contextlib.suppress(Exception):  # the interrupt is what must surface
                    ray.cancel(ref, force=True)
        raise
    finally:
        for actor in idle + [a for _, a in running.values() if a is not None]:
            ray.kill(actor, no_restart=True)
