"""accelerate setup: device, mixed precision and several processes (torchrun/accelerate launch)."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch


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
    cpu = cfg.cpu or not torch.cuda.is_available()
    return Accelerator(mixed_precision=cfg.mixed_precision, cpu=cpu)


def seed_everything(seed: int, rank: int = 0) -> None:
    """Seed torch's global generator (dropout, init) per rank; data order never uses it."""
    torch.manual_seed(seed + 1000003 * rank)
    # Libraries that draw from these must not change our results, but seed them anyway.
    random.seed(seed + rank)
    np.random.seed((seed + rank) % 2**32)
