"""Run a batched model call with CUDA-OOM halving and a per-sample fallback.

A CUDA out-of-memory error halves the batch size and retries the same items (the
smaller size is kept for the rest of the shard). Any other error of a batch retries its
items one by one, so only the samples that fail on their own are recorded as failed,
with their reason; the shard goes on.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Sequence

from dalpsr_data.errors import reason_of


def is_oom(error: BaseException) -> bool:
    import torch

    return isinstance(error, torch.OutOfMemoryError) or (
        isinstance(error, RuntimeError) and "out of memory" in str(error).lower())


def _free_cached_memory() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


@dataclasses.dataclass
class BatchResult:
    """outputs[i] is None exactly when reasons[i] is set; batch_size is the size left in use.

    call_sizes[i]: how many items were in the call that produced outputs[i] (0 when none
    did): with bf16 + SDPA on a GPU the batch can change greedy tokens, so rows record it.
    """

    outputs: list[Any]
    reasons: list[str]
    batch_size: int
    oom_halvings: int = 0
    call_sizes: list[int] = dataclasses.field(default_factory=list)


def run_batched(fn: Callable[[Sequence[Any]], Sequence[Any]], items: Sequence[Any],
                batch_size: int, stage: str) -> BatchResult:
    """Apply ``fn`` to ``items`` in batches; fn returns one output per item, in order."""
    n = len(items)
    outputs: list[Any] = [None] * n
    reasons = [""] * n
    sizes = [0] * n
    halvings = 0
    i = 0
    while i < n:
        chunk = list(items[i:i + batch_size])
        try:
            result = list(fn(chunk))
            if len(result) != len(chunk):
                raise RuntimeError(f"{stage} returned {len(result)} outputs for {len(chunk)} inputs")
            outputs[i:i + len(chunk)] = result
            sizes[i:i + len(chunk)] = [len(chunk)] * len(chunk)
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
                sizes[i + j] = 1
            except Exception as e:
                reasons[i + j] = f"{stage}: {reason_of(e)}"
        i += len(chunk)
    return BatchResult(outputs, reasons, batch_size, halvings, sizes)
