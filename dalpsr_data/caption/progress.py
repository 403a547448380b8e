"""A rich progress bar over samples (advanced per finished shard) with images/s and ETA."""

from __future__ import annotations

import time
from typing import Any


class ShardProgress:
    """Context manager; ``advance(n)`` after each shard. Disabled: does nothing."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total = total
        self.enabled = enabled and total > 0
        self._progress: Any = None
        self._task: Any = None
        self._start = time.perf_counter()
        self._done = 0

    def __enter__(self) -> ShardProgress:
        if self.enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._progress = Progress(TextColumn("caption"), BarColumn(), MofNCompleteColumn(),
                                      TextColumn("{task.fields[rate]}"), TimeRemainingColumn())
            self._progress.__enter__()
            self._task = self._progress.add_task("caption", total=self.total, rate="- img/s")
        self._start = time.perf_counter()
        return self

    def advance(self, n: int) -> None:
        self._done += n
        if self._progress is not None:
            rate = self._done / max(time.perf_counter() - self._start, 1e-9)
            self._progress.update(self._task, advance=n, rate=f"{rate:.2f} img/s")

    def __exit__(self, *exc: Any) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)
