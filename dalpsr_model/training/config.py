"""The base of every stage's frozen config dataclass.

A stage subclasses :class:`TrainConfig` (``@dataclass(frozen=True)``) and adds its own
fields with :func:`opt`; every field becomes a CLI option (``--batch-size``) through
:func:`dalpsr_data.cli_options.make_command`, and a yaml preset
section (``irpad:``, ``encoder:``, ``controlnet:``) may set any of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dalpsr_data.config_io import ConfigError, differing_keys, opt  # noqa: F401 - opt: the stages' field helper

MIXED_PRECISION = ("no", "fp16", "bf16")

# Fields that may differ between a run and its resumption without changing the result:
# everything else must match the checkpoint's saved config (checked on --resume).
RESUME_MUTABLE_FIELDS = frozenset({
    "resume", "overwrite", "max_steps", "progress", "checkpoint_every", "keep_checkpoints", "log_every",
    "out", "shards", "cpu",
})


@dataclass(frozen=True)
class TrainConfig:
    """Options shared by all training stages. Subclasses add stage options after these."""

    shards: str = opt("", "Build folder with index.json and shard-*.tar (from `dalpsr-data build`).")
    out: str = opt("runs/stage", "Output folder: checkpoints/, tb/ (tensorboard), final weights.")
    seed: int = opt(0, "Seed of model init, data order (shard permutation, shuffle buffer) and dropout.")
    batch_size: int = opt(16, "Samples per batch on each process.")
    num_workers: int = opt(2, "torch DataLoader workers per process (0 = read in the main process).")
    shuffle_buffer: int = opt(256, "Samples held in each worker's shuffle buffer (raw bytes).")
    lr: float = opt(1e-4, "Peak learning rate (AdamW).")
    weight_decay: float = opt(0.0, "AdamW weight decay.")
    warmup_steps: int = opt(0, "Linear learning-rate warm-up, in optimizer steps.")
    decay_steps: int = opt(0, "Cosine decay of the lr to 0 over this many steps after warm-up (0 = constant lr).")
    max_steps: int = opt(1000, "Optimizer steps to train in total (a resumed run continues to it).")
    grad_accum_steps: int = opt(1, "Batches accumulated per optimizer step.")
    max_grad_norm: float = opt(1.0, "Gradient clipping norm (0 = off).")
    mixed_precision: str = opt("no", "Mixed precision: no, fp16 (CUDA only) or bf16.")
    cpu: bool = opt(False, "Train on the CPU even when an accelerator is present.")
    checkpoint_every: int = opt(500, "Save a checkpoint every N optimizer steps (and at the end).")
    keep_checkpoints: int = opt(3, "Keep at most this many checkpoints (oldest deleted first).")
    log_every: int = opt(10, "Log scalars to tensorboard every N optimizer steps.")
    progress: bool = opt(True, "Show a progress bar with samples/s.")
    resume: str = opt("", "'latest' to continue from the newest checkpoint in OUT/checkpoints, or a checkpoint folder.")
    overwrite: bool = opt(False, "Replace a previous run in OUT (removes only what a trainer wrote there); without it or --resume such an OUT is refused.")

    def __post_init__(self) -> None:
        if not self.shards:
            raise ConfigError("no shards: give --shards <build folder> (made by `dalpsr-data build`)")
        positive = ("batch_size", "max_steps", "grad_accum_steps", "checkpoint_every",
                    "keep_checkpoints", "log_every", "shuffle_buffer")
        for name in positive:
            if getattr(self, name) < 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}")
        if min(self.num_workers, self.warmup_steps, self.decay_steps, self.max_grad_norm) < 0:
            raise ConfigError("--num-workers, --warmup-steps, --decay-steps and --max-grad-norm must be >= 0")
        if self.lr <= 0:
            raise ConfigError(f"--lr must be > 0, got {self.lr}")
        if self.mixed_precision not in MIXED_PRECISION:
            raise ConfigError(f"--mixed-precision must be one of {MIXED_PRECISION}, got {self.mixed_precision!r}")


def resume_mismatches(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Fields (outside RESUME_MUTABLE_FIELDS) whose saved and current values differ."""
    return differing_keys(saved, current, RESUME_MUTABLE_FIELDS)
