"""Progress of a long command: a live bar on a terminal, a plain line every N seconds otherwise.

Used by the build, the caption stage, the latent cache and the training loop::

    with Progress("build", total=480, unit="patches", done_before=120) as bar:
        bar.update(done_this_run)            # absolute count of this run
        bar.update(n, note="loss 0.1234")    # an optional note after the numbers

What the numbers mean, the same in the bar, the plain lines and every closing summary
that reads :attr:`Progress.rate` / :attr:`Progress.elapsed`:

- position: ``done_before`` (finished by an earlier run, resumed) + this run's count;
- rate: this run's count / seconds since :meth:`start` (a mean over the run, not a
  moving window, so the last value shown equals the summary's);
- ETA: what is left at that rate.

When stdout is not a terminal (nohup, CI, a Slurm log) a line such as
``build: 240/480 patches (50.0%), 9.10 patches/s, elapsed 0:00:26, ETA 0:00:26`` is
printed every ``every`` seconds (``$DALPSR_PROGRESS_EVERY``, default 30) and once at the end.
"""

from __future__ import annotations

import os
import sys
import time
from typing import IO, Any

ENV_EVERY = "DALPSR_PROGRESS_EVERY"
DEFAULT_EVERY = 30.0


def hms(seconds: float) -> str:
    s = max(0, int(round(seconds)))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _every_from_env() -> float:
    try:
        return max(0.0, float(os.environ.get(ENV_EVERY, DEFAULT_EVERY)))
    except ValueError:
        return DEFAULT_EVERY


class Progress:
    """See the module docstring. ``enabled=False`` shows nothing but still measures the rate."""

    def __init__(self, label: str, total: int, unit: str, *, done_before: int = 0,
                 enabled: bool = True, every: float | None = None, stream: IO[str] | None = None,
                 live: bool | None = None) -> None:
        self.label, self.total, self.unit = label, int(total), unit
        self.before = int(done_before)
        self.done = 0
        self.note = ""
        self.enabled = enabled
        self.stream = stream or sys.stdout
        self.every = _every_from_env() if every is None else every
        isatty = getattr(self.stream, "isatty", lambda: False)()
        self.live = enabled and (isatty if live is None else live)
        self._bar: Any = None
        self._task: Any = None
        self._t0: float | None = None
        self._t_end: float | None = None
        self._last_line = 0.0
        self._printed: tuple[int, str] | None = None  # (position, note) of the last plain line

    # -- measures ------------------------------------------------------------------------
    @property
    def elapsed(self) -> float:
        if self._t0 is None:
            return 0.0
        return (self._t_end or time.perf_counter()) - self._t0

    @property
    def rate(self) -> float:
        """Units of this run per second since start (0 before anything is done)."""
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        left = max(0, self.total - self.before - self.done)
        return left / self.rate if self.rate > 0 else None

    def line(self) -> str:
        pos = self.before + self.done
        pct = f" ({100.0 * pos / self.total:.1f}%)" if self.total > 0 else ""
        eta = hms(self.eta) if self.eta is not None else "-"
        note = f", {self.note}" if self.note else ""
        return (f"{self.label}: {pos}/{self.total} {self.unit}{pct}, {self.rate:.2f} {self.unit}/s, "
                f"elapsed {hms(self.elapsed)}, ETA {eta}{note}")

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> Progress:
        """Start the clock (and the live bar); later calls do nothing."""
        if self._t0 is not None:
            return self
        self._t0 = self._last_line = time.perf_counter()
        if self.live:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(
                TextColumn(f"[bold]{self.label}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("ETA {task.fields[eta]}"),
                TextColumn("{task.fields[note]}"), console=Console(file=self.stream))
            self._bar.start()
            self._task = self._bar.add_task(self.label, total=self.total, completed=self.before,
                                            rate=f"- {self.unit}/s", eta="-", note="")
        return self

    def update(self, done_this_run: int, note: str | None = None) -> None:
        """This run's count so far (capped at what is left of ``total``). It may go down: the
        units of a job attempt that failed are no longer counted."""
        self.start()
        cap = max(0, self.total - self.before)
        self.done = max(0, min(int(done_this_run), cap))
        if note is not None:
            self.note = note
        now = time.perf_counter()
        if self._bar is not None:
            eta = hms(self.eta) if self.eta is not None else "-"
            self._bar.update(self._task, completed=self.before + self.done, note=self.note,
                             rate=f"{self.rate:.2f} {self.unit}/s", eta=eta)
        elif self.enabled and not self.live and now - self._last_line >= self.every:
            self._last_line = now
            self._printed = (self.before + self.done, self.note)
            self._print(self.line())

    def advance(self, n: int = 1, note: str | None = None) -> None:
        self.update(self.done + n, note)

    def close(self) -> None:
        """Stop the clock; the live bar shows its last state, a log gets a closing line."""
        if self._t0 is None or self._t_end is not None:
            return
        self._t_end = time.perf_counter()
        if self._bar is not None:
            self._bar.update(self._task, completed=self.before + self.done,
                             rate=f"{self.rate:.2f} {self.unit}/s", eta=hms(0))
            self._bar.stop()
        elif self.enabled and self._printed != (self.before + self.done, self.note):
            self._print(self.line())  # not when the last line already showed this position

    def _print(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def __enter__(self) -> Progress:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()
