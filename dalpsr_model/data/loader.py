"""EpochLoader: endless, resumable iteration over epochs of a ShardStream.

Its position (epoch, batches delivered in that epoch) is what a checkpoint stores;
``load_state_dict`` makes the next iteration yield exactly the remaining batches of that
epoch in the uninterrupted order, then continue with the next epochs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import torch
from torch.utils.data import DataLoader

from dalpsr_data.buildinfo import BuildInfo
from dalpsr_data.config_io import ConfigError
from dalpsr_data.interrupt import ignore_stop_signals
from dalpsr_model.data.decode import ALL_FIELDS
from dalpsr_model.data.stream import ShardStream


class EpochLoader:
    """Yields collated batch dicts forever (``max_epochs=None``) or for ``max_epochs`` epochs.

    ``root_or_buildinfo``: a build folder or an opened :class:`BuildInfo` (``self.build``).
    """

    def __init__(self, root_or_buildinfo: BuildInfo | str | Path, *, batch_size: int, seed: int = 0, rank: int = 0,
                 world_size: int = 1, num_workers: int = 0, shuffle_buffer: int = 256,
                 fields: tuple[str, ...] = ALL_FIELDS, hr_signed: bool = True,
                 shard_indices: list[int] | None = None, max_epochs: int | None = None,
                 drop_empty: bool = False) -> None:
        self.stream = ShardStream(root_or_buildinfo, batch_size=batch_size, seed=seed, rank=rank,
                                  world_size=world_size, num_workers=num_workers,
                                  shuffle_buffer=shuffle_buffer, fields=fields,
                                  hr_signed=hr_signed, shard_indices=shard_indices,
                                  drop_empty=drop_empty)
        self.build = self.stream.build
        self.num_workers = num_workers
        self.max_epochs = max_epochs
        self.epoch, self.batches_done = 0, 0
        self.corrupt = 0  # corrupt samples skipped so far by this process

    @classmethod
    def from_config(cls, cfg: Any, accelerator: Any = None, build: BuildInfo | None = None,
                    **kwargs: Any) -> "EpochLoader":
        """From a TrainConfig (shards, batch_size, seed, num_workers, shuffle_buffer); ``build``:
        cfg.shards already opened (else it is opened here)."""
        rank = accelerator.process_index if accelerator is not None else 0
        world = accelerator.num_processes if accelerator is not None else 1
        return cls(build if build is not None else cfg.shards, batch_size=cfg.batch_size, seed=cfg.seed, rank=rank,
                   world_size=world, num_workers=cfg.num_workers,
                   shuffle_buffer=cfg.shuffle_buffer, **kwargs)

    def batches_per_epoch(self, epoch: int = 0) -> int:
        return self.stream.batches_per_epoch(epoch)

    def _identity(self) -> dict[str, Any]:
        s = self.stream
        return {"seed": s.seed, "world_size": s.world_size, "num_workers": s.num_workers,
                "batch_size": s.batch_size, "shuffle_buffer": s.shuffle_buffer,
                "shards": list(s.urls)}

    def state_dict(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "batches_done": self.batches_done,
                "corrupt": self.corrupt, **self._identity()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        mine = self._identity()
        bad = sorted(k for k in mine if state.get(k) != mine[k])
        if bad:
            raise ConfigError(f"cannot resume the data position exactly: {bad} differ from the "
                              f"checkpoint ({ {k: state.get(k) for k in bad} }); use the same "
                              f"processes, --num-workers, --batch-size and shards")
        self.epoch, self.batches_done = int(state["epoch"]), int(state["batches_done"])
        self.corrupt = int(state.get("corrupt", 0))

    def epoch_batches(self) -> Iterator[dict[str, Any]]:
        """The remaining batches of the current epoch (advances the position)."""
        self.stream.set_position(self.epoch, self.batches_done)
        # A private generator: creating a DataLoader iterator otherwise draws a base seed
        # from torch's global RNG, so a resumed run (new iterator mid-epoch) would shift
        # the dropout/noise stream of the training step. The stream itself uses no torch RNG.
        gen = torch.Generator().manual_seed(self.stream.seed * 1009 + self.epoch)
        dl = DataLoader(self.stream, batch_size=None, num_workers=self.num_workers, generator=gen,
                        persistent_workers=False, prefetch_factor=2 if self.num_workers else None,
                        worker_init_fn=ignore_stop_signals)  # the trainer stops them after its checkpoint
        for batch in dl:
            self.batches_done += 1
            self.corrupt += int(batch["n_corrupt"])
            yield batch
        self.epoch, self.batches_done = self.epoch + 1, 0

    def __iter__(self) -> Iterator[dict[str, Any]]:
        while self.max_epochs is None or self.epoch < self.max_epochs:
            yield from self.epoch_batches()
