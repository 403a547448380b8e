"""Exactly-once, resumable streaming of DaLPSR build shards (see plan.py and stream.py)."""

from dalpsr_model.data.decode import ALL_FIELDS, CorruptSample
from dalpsr_model.data.loader import EpochLoader
from dalpsr_model.data.plan import epoch_plan, shard_order, slot_segments
from dalpsr_model.data.stream import MissingShardError, ShardStream

__all__ = ["ALL_FIELDS", "CorruptSample", "EpochLoader", "MissingShardError", "ShardStream",
           "epoch_plan", "shard_order", "slot_segments"]
