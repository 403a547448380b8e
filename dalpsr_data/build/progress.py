"""A live progress bar on the driver: patches done / total, patches/s, elapsed, ETA.

Workers count finished patches per shard in a ``PatchCounts`` (a plain object for the local
loop, a Ray actor for the Ray executor); the driver reads it, so the bar moves patch by
patch instead of shard by shard. A retried shard restarts its count, so nothing is counted
twice. Counting never touches the output.
"""

from __future__ import annotations

from typing import Any, Callable

from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)
from rich.text import Text


class PatchCounts:
    """Patches finished per shard attempt; ``listener`` (local use only) is told of each change."""

    def __init__(self, listener: Callable[[], None] | None = None):
        self.counts: dict[str, int] = {}
        self._listener = listener

    def start(self, shard: str) -> None:
        self.counts[shard] = 0

    def add(self, shard: str, n: int) -> None:
        self.counts[shard] = self.counts.get(shard, 0) + n
        if self._listener is not None:
            self._listener()

    def snapshot(self) -> dict[str, int]:
        return dict(self.counts)


def ray_patch_counts() -> Any:
    """A PatchCounts actor (no CPU reserved: it only adds integers)."""
    import ray

    return ray.remote(num_cpus=0)(PatchCounts).remote()


def tick(counts: Any, method: str, *args: Any) -> None:
    """``counts.method(*args)`` on a local PatchCounts, fire-and-forget on a Ray actor."""
    if counts is None:
        return
    fn = getattr(counts, method)
    fn.remote(*args) if hasattr(fn, "remote") else fn(*args)


def read_counts(counts: Any) -> dict[str, int]:
    if counts is None:
        return {}
    if hasattr(counts.snapshot, "remote"):
        import ray

        return ray.get(counts.snapshot.remote())
    return counts.snapshot()


class RateColumn(ProgressColumn):
    """Patches per second over rich's moving window."""

    def render(self, task: Any) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:.1f} patches/s" if speed else "- patches/s", style="progress.data.speed")


class BuildProgress:
    """Context manager around rich's bar; ``enabled=False`` prints nothing.

    ``update(committed, partial)``: patches of committed shards (this run) plus the running
    shards' counts (each capped at the shard's size).
    """

    def __init__(self, total: int, already_done: int, enabled: bool):
        self._progress = Progress(TextColumn("[bold]build"), BarColumn(), MofNCompleteColumn(),
                                  RateColumn(), TimeElapsedColumn(), TextColumn("ETA"),
                                  TimeRemainingColumn()) if enabled else None
        self._total, self._before = total, already_done
        self._task: Any = None

    def __enter__(self) -> "BuildProgress":
        if self._progress is not None:
            self._progress.start()
            self._task = self._progress.add_task("patches", total=self._total, completed=self._before)
        return self

    def update(self, completed_this_run: int) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=min(self._total, self._before + completed_this_run))

    def __exit__(self, *exc: Any) -> None:
        if self._progress is not None:
            self._progress.stop()


class ProgressTracker:
    """Driver side: turns commits and running shards' counts into the bar's position."""

    def __init__(self, bar: BuildProgress, planned: dict[str, int]):
        self.bar, self.planned = bar, planned
        self.committed: set[str] = set()
        self.counts: Any = None

    def committed_shard(self, name: str) -> None:
        self.committed.add(name)
        self.refresh()

    def refresh(self) -> None:
        snap = read_counts(self.counts)
        n = sum(self.planned[s] for s in self.committed)
        n += sum(min(v, self.planned.get(s, 0)) for s, v in snap.items() if s not in self.committed)
        self.bar.update(n)
