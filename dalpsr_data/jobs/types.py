"""The runner's value types: a job in, a ``ShardStats`` or a ``JobFailure`` out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Job:
    """One unit of work and of resume.

    id: unique name (a shard's ``shard-000003.tar``, an image path); payload: what the
    job function receives (picklable for Ray); size: units of work for the progress bar
    (patches, images; 1 when unknown); marker: the commit marker's path, written by the
    runner after the function returns, or None for a job without one (then it always runs).
    """

    id: str
    payload: Any
    size: int = 1
    marker: str | None = None


@dataclass(frozen=True)
class ShardStats:
    """A finished job. samples: the result's ``nsamples`` (else the job's size);
    seconds: wall time of the successful attempt where it ran; attempts: 1 + retries used;
    result: what the job function returned (the marker content for a shard)."""

    id: str
    samples: int
    seconds: float
    attempts: int
    result: Any = None

    @classmethod
    def of(cls, job: Job, result: Any, seconds: float, attempts: int) -> ShardStats:
        n = result.get("nsamples") if isinstance(result, Mapping) else None
        return cls(job.id, int(job.size if n is None else n), round(seconds, 4), attempts, result)


@dataclass(frozen=True)
class JobFailure:
    """A job that still failed after its retries: reason is one line (errors.reason_of)."""

    id: str
    reason: str
    attempts: int


@dataclass(frozen=True)
class RunResult:
    """done/failed in finishing order; skipped: ids committed before this run;
    seconds: wall time of the work (the progress clock: Ray start-up is not in it)."""

    done: tuple[ShardStats, ...]
    failed: tuple[JobFailure, ...]
    skipped: tuple[str, ...]
    seconds: float

    @property
    def failures(self) -> dict[str, str]:
        return {f.id: f.reason for f in self.failed}


@dataclass(frozen=True)
class RayActors:
    """Resources of the Ray actors that hold a ``setup`` state (one model copy each).

    count: actors wanted (fewer when the cluster or the job list is smaller); hint: added
    to the error when the cluster has no room for a single actor (which option to change).
    """

    count: int = 1
    num_cpus: float = 1
    num_gpus: float = 0
    hint: str = ""

    def __post_init__(self) -> None:
        if self.count < 1 or self.num_cpus < 0 or self.num_gpus < 0:
            raise ValueError(f"RayActors needs count >= 1 and resources >= 0, got {self}")
