"""accelerate setup: device, mixed precision and several processes (torchrun/accelerate launch)."""

from __future__ import annotations

import random
import sys
from typing import Any

import numpy as np
import torch

from dalpsr_data.memory import keep_freed_memory as glibc_keep_freed_memory


def make_accelerator(cfg: Any):
    """An ``accelerate.Accelerator`` for a :class:`TrainConfig`.

    The data loader is NOT passed to ``accelerator.prepare``: the streaming loader shards
    by (rank, worker) itself, so accelerate must not wrap or re-shard it.
    """
    from accelerate import Accelerator

    # Gradient accumulation is done by the Trainer (accelerate's version divides the loss
    # and tracks its own counter, which a resumed run would not restore).
    # Without a GPU, accelerate only sets up several processes (gloo) when told cpu=True;
    # otherwise torchrun's ranks would each train alone on the same data.
    keep_freed_memory()
    return Accelerator(mixed_precision=effective_precision(cfg), cpu=runs_on_cpu(cfg))


def runs_on_cpu(cfg: Any) -> bool:
    """True when the run trains on the CPU (--cpu, or no CUDA device is visible)."""
    return bool(cfg.cpu) or not torch.cuda.is_available()


def effective_precision(cfg: Any) -> str:
    """The mixed precision the run uses: ``cfg.mixed_precision`` on CUDA, ``no`` on the CPU.

    The presets say bf16 for GPUs; bf16 autocast (and bf16 frozen weights) on a CPU without
    bf16 units is 6-13x slower than fp32 (tiny IRPAD and ControlNet runs on 2 cores), which
    made every stage's defaults unusable there. A note on stderr says so once per process.
    """
    if cfg.mixed_precision == "no" or not runs_on_cpu(cfg):
        return cfg.mixed_precision
    if not _NOTED:
        _NOTED.append(True)
        print(f"note: --mixed-precision {cfg.mixed_precision} applies on CUDA only; "
              f"training on the CPU in fp32", file=sys.stderr, flush=True)
    return "no"


_NOTED: list[bool] = []


def keep_freed_memory() -> bool:
    """Keep freed CPU tensor buffers in the heap instead of handing them back to the OS.

    Without it each training step faults its activations in again: a quarter of an IRPAD run
    on the CPU was system time. Buffers up to 64 MB now come from the heap, which is trimmed
    only above 1 GB of free top (the same as MALLOC_MMAP_THRESHOLD_=67108864
    MALLOC_TRIM_THRESHOLD_=1073741824 MALLOC_TOP_PAD_=268435456). False off glibc.
    """
    return glibc_keep_freed_memory(64 << 20, 1 << 30, top_pad=256 << 20)


def seed_everything(seed: int, rank: int = 0) -> None:
    """Seed torch's global generator (dropout, init) per rank; data order never uses it."""
    torch.manual_seed(seed + 1000003 * rank)
    # Libraries that draw from these must not change our results, but seed them anyway.
    random.seed(seed + rank)
    np.random.seed((seed + rank) % 2**32)
