"""Tensorboard scalars and the progress display (main process only).

The display is dalpsr_data.progress.Progress: a live bar on a terminal, a plain line every
30 s in a log (``$DALPSR_PROGRESS_EVERY``): steps done/total, steps/s and ETA of this run,
then the last loss and samples/s (all processes, since the run started).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from dalpsr_data.progress import Progress


class Monitor:
    """Logs scalars to ``OUT/tb`` and drives a progress bar; a no-op on non-main processes."""

    def __init__(self, out: str | Path, total_steps: int, start_step: int, enabled: bool,
                 show_progress: bool, description: str) -> None:
        self.enabled = enabled
        self.writer = None
        self.progress: Progress | None = None
        self._start_step = start_step
        self._t0 = time.perf_counter()
        self._samples = 0
        if not enabled:
            return
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(Path(out) / "tb"))
        if show_progress:
            self.progress = Progress(description, total_steps, "steps", done_before=start_step).start()

    @property
    def samples_per_second(self) -> float:
        return self._samples / max(time.perf_counter() - self._t0, 1e-9)

    def step(self, step: int, samples: int, loss: float) -> None:
        """One optimizer step done; ``samples`` counts all processes."""
        self._samples += samples
        if self.progress is not None:
            self.progress.update(step - self._start_step,
                                 note=f"loss {loss:.4f}, {self.samples_per_second:.1f} samples/s")

    def scalars(self, step: int, values: dict[str, Any]) -> None:
        if self.writer is not None:
            for k, v in values.items():
                self.writer.add_scalar(k, float(v), step)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.close()
        if self.writer is not None:
            self.writer.flush()
            self.writer.close()
