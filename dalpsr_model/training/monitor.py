"""Tensorboard scalars and a rich progress bar with samples/s (main process only)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any


class Monitor:
    """Logs scalars to ``OUT/tb`` and drives a progress bar; a no-op on non-main processes."""

    def __init__(self, out: str | Path, total_steps: int, start_step: int, enabled: bool,
                 show_progress: bool, description: str) -> None:
        self.enabled = enabled
        self.writer = None
        self.progress = None
        self._t0 = time.perf_counter()
        self._samples = 0
        if not enabled:
            return
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(Path(out) / "tb"))
        if show_progress:
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                       TimeRemainingColumn)

            self.progress = Progress(
                TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("loss {task.fields[loss]:.4f}"),
                TextColumn("{task.fields[sps]:.1f} samples/s"), TimeRemainingColumn())
            self.progress.start()
            self.task = self.progress.add_task(description, total=total_steps, completed=start_step,
                                               loss=float("nan"), sps=0.0)

    @property
    def samples_per_second(self) -> float:
        return self._samples / max(time.perf_counter() - self._t0, 1e-9)

    def step(self, step: int, samples: int, loss: float) -> None:
        """One optimizer step done; ``samples`` counts all processes."""
        self._samples += samples
        if self.progress is not None:
            self.progress.update(self.task, completed=step, loss=loss, sps=self.samples_per_second)

    def scalars(self, step: int, values: dict[str, Any]) -> None:
        if self.writer is not None:
            for k, v in values.items():
                self.writer.add_scalar(k, float(v), step)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
        if self.writer is not None:
            self.writer.flush()
            self.writer.close()
