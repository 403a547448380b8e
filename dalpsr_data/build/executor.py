"""Run shard tasks: a local loop (tests, debugging) or one Ray task per shard.

Both call the same ``shard_fn`` (``process_shard`` unless a test injects a fault), retry
a failing shard ``max_retries`` times, keep going with the other shards, and return the
causes of the shards that still failed. ``on_done(marker)`` is called on the driver as
each shard commits (progress bar, counters).
"""

from __future__ import annotations

import traceback
from typing import Any, Callable, Sequence

from dalpsr_data.build.process_shard import ShardTask, process_shard

ShardFn = Callable[[ShardTask], dict[str, Any]]
OnDone = Callable[[dict[str, Any]], None]


def _cause(exc: BaseException) -> str:
    """One line: the exception type and message (Ray wraps the worker's exception)."""
    inner = getattr(exc, "cause", None) or exc
    msg = str(inner).strip().splitlines()
    return f"{type(inner).__name__}: {msg[-1] if msg else ''}"


def run_local(tasks: Sequence[ShardTask], on_done: OnDone, max_retries: int,
              shard_fn: ShardFn = process_shard) -> dict[str, str]:
    """Process shards one after another in this process; returns {shard name: cause}."""
    failed: dict[str, str] = {}
    for task in tasks:
        for attempt in range(max_retries + 1):
            try:
                marker = shard_fn(task)
            except Exception as e:  # a shard failure: retried, then reported by name
                if attempt == max_retries:
                    failed[task.name] = _cause(e)
                    traceback.clear_frames(e.__traceback__)
                continue
            on_done(marker)
            break
    return failed


def run_ray(tasks: Sequence[ShardTask], on_done: OnDone, max_retries: int, max_in_flight: int,
            shard_fn: ShardFn = process_shard, poll: Callable[[], None] | None = None,
            poll_seconds: float = 0.5) -> dict[str, str]:
    """One Ray task per shard with at most ``max_in_flight`` running; returns {name: cause}.

    Ray retries a task whose worker died (kill -9, OOM) or raised, ``max_retries`` times.
    Capping the tasks in flight makes ``--workers`` meaningful on a shared cluster too.
    ``poll`` is called at least every ``poll_seconds`` (the progress bar).
    """
    import ray

    remote = ray.remote(num_cpus=1, max_retries=max_retries, retry_exceptions=True)(shard_fn)
    pending = list(tasks)[::-1]
    running: dict[Any, ShardTask] = {}
    failed: dict[str, str] = {}
    while pending or running:
        while pending and len(running) < max(1, max_in_flight):
            task = pending.pop()
            running[remote.remote(task)] = task
        done, _ = ray.wait(list(running), num_returns=1, timeout=poll_seconds)
        if poll is not None:
            poll()  # progress of the running shards, patch by patch
        for ref in done:
            task = running.pop(ref)
            try:
                marker = ray.get(ref)
            except Exception as e:  # RayTaskError / WorkerCrashedError after the retries
                failed[task.name] = _cause(e)
                continue
            on_done(marker)
    return failed
