"""Optional EMA of the ControlNet weights, kept as a module so checkpoints carry it.

The common Trainer saves every module in its ``models`` dict as safetensors and restores
it strictly on ``--resume``; holding the EMA copy and its update count in an ``nn.Module``
(count as a buffer) puts the EMA into the same atomic checkpoint with no extra format.
The update runs right after each optimizer step, from the Trainer's ``on_step_end`` hook.
"""

from __future__ import annotations

import copy

import torch


class EMAHolder(torch.nn.Module):
    """EMA copy of ``model``: after update n, w_ema <- d w_ema + (1 - d) w with
    d = min(decay, (1 + n) / (10 + n)) (the usual warm-up, so early weights fade fast)."""

    def __init__(self, model: torch.nn.Module, decay: float) -> None:
        super().__init__()
        self.decay = float(decay)
        self.model = copy.deepcopy(model).requires_grad_(False).eval()
        self.register_buffer("num_updates", torch.zeros((), dtype=torch.long))

    def train(self, mode: bool = True) -> "EMAHolder":
        # The shadow model never trains (the Trainer calls train() on every module).
        super().train(mode)
        self.model.eval()
        return self

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        n = int(self.num_updates.item()) + 1
        d = min(self.decay, (1.0 + n) / (10.0 + n))
        for e, p in zip(self.model.parameters(), model.parameters()):
            e.lerp_(p.detach().to(e.dtype), 1.0 - d)
        for e, b in zip(self.model.buffers(), model.buffers()):
            e.copy_(b)
        self.num_updates.fill_(n)
