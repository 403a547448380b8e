"""One attempt of one job, wherever it runs: this process, a Ray task or a Ray actor.

``execute`` calls the job function, then writes the job's commit marker (when it has
one) through :mod:`dalpsr_data.atomic`, after the function has committed its own output:
a marker therefore always describes a complete output. Inside the function,
:func:`advance` reports finished units (patches, images) so the driver's progress moves
within a job, not only between jobs; a retried attempt restarts its count at 0.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Callable

from dalpsr_data.atomic import write_json_atomic

_sink: dict[str, Any] = {"counts": None, "job": None, "unsent": 0, "sent_at": 0.0, "fresh": True}

# A call on the Ray counts actor costs about a millisecond of CPU on the worker and the actor
# (176 per-patch calls of a benchmarks/build.py build took 0.36-0.68 s of the actor's CPU,
# a tenth of the two cores a 2-worker build has): a remote count goes out at most this often,
# and an attempt's first one replaces what an earlier attempt left (no call at the start).
# A local count (a plain object) is told at once.
REMOTE_EVERY_S = 0.5


class UnitCounts:
    """Units finished per running job (a plain object locally, a Ray actor under Ray).

    ``listener`` (local use only) is told of every change, so the bar follows at once.
    """

    def __init__(self, listener: Callable[[], None] | None = None) -> None:
        self.counts: dict[str, int] = {}
        self._listener = listener

    def start(self, job_id: str) -> None:
        self.counts[job_id] = 0

    def add(self, job_id: str, n: int, fresh: bool = False) -> None:
        """``n`` more units of ``job_id``; ``fresh``: the first count of an attempt (replaces)."""
        self.counts[job_id] = n if fresh else self.counts.get(job_id, 0) + n
        if self._listener is not None:
            self._listener()

    def forget(self, job_id: str) -> None:
        self.counts.pop(job_id, None)

    def reset(self) -> None:
        self.counts.clear()

    def snapshot(self) -> dict[str, int]:
        return dict(self.counts)


def advance(n: int = 1) -> None:
    """Called by a job function: ``n`` more units of the current job are done.

    Outside a job (a direct call in a test or a benchmark) it does nothing. Under Ray the
    units are sent at most every REMOTE_EVERY_S seconds; what is unsent when the job ends
    needs no call, since the driver counts a finished job whole.
    """
    counts = _sink["counts"]
    if counts is None:
        return
    add = counts.add
    if not hasattr(add, "remote"):
        add(_sink["job"], n)
        return
    _sink["unsent"] += n
    now = time.monotonic()
    if now - _sink["sent_at"] >= REMOTE_EVERY_S:
        add.remote(_sink["job"], _sink["unsent"], _sink["fresh"])
        _sink.update(unsent=0, sent_at=now, fresh=False)


def execute(fn: Callable[..., Any], job: Any, state: Any, counts: Any,
            with_state: bool) -> tuple[Any, float]:
    """Run ``fn(job.payload)`` (or ``fn(job.payload, state)``), then commit ``job.marker``.

    Returns (what fn returned, seconds). With a marker, fn must return the marker's content
    (a JSON-able mapping); it is written with sorted keys, so equal content gives equal bytes.
    """
    if counts is not None and not hasattr(counts.start, "remote"):
        counts.start(job.id)  # local: a retried attempt counts from 0 (remote: ``fresh``)
    _sink.update(counts=counts, job=job.id, unsent=0, sent_at=time.monotonic(), fresh=True)
    t0 = time.perf_counter()
    try:
        result = fn(job.payload, state) if with_state else fn(job.payload)
    finally:
        _sink.update(counts=None, job=None, unsent=0)
    if job.marker is not None:
        if not isinstance(result, Mapping):
            raise TypeError(f"job {job.id}: a job with a marker must return its content as a "
                            f"mapping, got {type(result).__name__}")
        write_json_atomic(job.marker, dict(result))
    return result, time.perf_counter() - t0


def run_task(fn: Callable[..., Any], job: Any, counts: Any) -> tuple[Any, float]:
    """The body of a plain Ray task (no state)."""
    return execute(fn, job, None, counts, False)


class JobActor:
    """The body of a Ray actor: ``setup()`` builds its state (models) once; one job per call."""

    def __init__(self, setup: Callable[[], Any]) -> None:
        self.state = setup()

    def run(self, fn: Callable[..., Any], job: Any, counts: Any) -> tuple[Any, float]:
        return execute(fn, job, self.state, counts, True)
