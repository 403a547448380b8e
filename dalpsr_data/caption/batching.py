"""Run a batched model call with CUDA-OOM halving and a per-sample fallback.

A CUDA out-of-memory error halves the batch size and retries the same items (the
smaller size is kept for the rest of the shard). Any other error of a batch retries its
items one by one, so only the samples that fail on their own are recorded as failed,
with their reason; the shard goes on.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Sequence


def is_oom(error: BaseException) -> bool:
    import torch

    return isinstance(error, torch.OutOfMemoryError) or (
        isinstance(error, RuntimeError) and "out of memory" in str(error).lower())


def _free_cached_memory() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def reason_of(error: BaseException) -> str:
    """One line: exception type and first line of the message."""
    first = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {first}"[:300]


@dataclasses.dataclass
class BatchResult:
    """outputs[i] is None exactly when reasons[i] is set; batch_size is the size left in use."""

    outputs: list[Any]
    reasons: list[str]
    batch_size: int
    oom_halvings: int = 0


def run_batched(fn: Callable[[Sequence[Any]], Sequence[Any]], items: Sequence[Any],
                batch_size: int, stage: str) -> BatchResult:
    """Apply ``fn`` to ``items`` in batches; fn returns one output per item, in order."""
    n = len(items)
    outputs: list[Any] = [None] * n
    reasons = [""] * n
    halvings = 0
    i = 0
    while i < n:
        chunk = list(items[i:i + batch_size])
        try:
            result = list(fn(chunk))
            if len(result) != len(chunk):
                raise RuntimeError(f"{stage} returned {len(result)} outputs for {len(chunk)} inputs")
            outputs[i:i + len(chunk)] = result
            i += len(chunk)
            continue
        except Exception as e:  # recorded per sample below, never swallowed silently
            if is_oom(e) and batch_size > 1:
                batch_size = max(1, batch_size // 2)
                halvings += 1
                _free_cached_memory()
                continue
            if len(chunk) == 1:
                reasons[i] = f"{stage}: {reason_of(e)}"
                i += 1
                continue
        for j, item in enumerate(chunk):  # isolate the failing samples of a non-OOM error
            try:
                outputs[i + j] = list(fn([item]))[0]
            except Exception as e:
                reasons[i + j] = f"{stage}: {reason_of(e)}"
        i += len(chunk)
    return BatchResult(outputs, reasons, batch_size, halvings)
