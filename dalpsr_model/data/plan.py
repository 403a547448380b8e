"""Which samples each (rank, worker) slot reads in an epoch: pure functions of the index.

Every process computes the same plan from (index, seed, epoch), so no communication is
needed. The shards are permuted by a generator seeded with (seed, epoch); the permuted
shards are laid end to end as one stream of N samples and cut into S = world_size x
num_workers contiguous, equal ranges of ``N // S`` samples, one per slot. Every sample is
read by exactly one slot; a shard is split between two slots only at a range boundary.

Uneven case: when N is not a multiple of S, the last ``N mod S`` samples of the permuted
stream (the tail of the last shard in that epoch's order) are left out of that epoch, so
every slot reads the same count and every rank yields the same number of batches (DDP
never waits on a rank that ran out). The order changes every epoch, so a different few
are left out each time; the count is reported by :func:`epoch_plan`. Build with a sample
count that is a multiple of S (e.g. shards of 256 samples and a shard count divisible by
world_size x num_workers) and nothing is left out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from dalpsr_data.seeding import rng_for


@dataclass(frozen=True)
class Segment:
    """Samples ``[start, stop)`` (positions in tar order) of one shard."""

    url: str
    start: int
    stop: int


@dataclass(frozen=True)
class EpochPlan:
    order: tuple[int, ...]           # shard indices in this epoch's order
    samples_per_slot: int            # N // S, identical for every slot
    batches_per_slot: int            # ceil(samples_per_slot / batch_size)
    left_out: int                    # N mod S samples not read this epoch


def shard_order(num_shards: int, seed: int, epoch: int) -> list[int]:
    """Permutation of shard indices for ``epoch``; identical on every rank and worker."""
    return [int(i) for i in rng_for(seed, f"epoch-{epoch}", "shard-order").permutation(num_shards)]


def epoch_plan(sizes: list[int], seed: int, epoch: int, num_slots: int, batch_size: int) -> EpochPlan:
    total = sum(sizes)
    per = total // num_slots
    if per == 0:
        raise ValueError(f"the build holds {total} samples, fewer than the {num_slots} "
                         f"(ranks x workers) readers: use fewer --num-workers or processes")
    return EpochPlan(tuple(shard_order(len(sizes), seed, epoch)), per,
                     math.ceil(per / batch_size), total - per * num_slots)


def slot_segments(urls: list[str], sizes: list[int], plan: EpochPlan, slot: int) -> list[Segment]:
    """The segments slot ``slot`` reads, in order: its range of the permuted stream."""
    lo = slot * plan.samples_per_slot
    hi = lo + plan.samples_per_slot
    out, pos = [], 0
    for i in plan.order:
        a, b = max(lo, pos), min(hi, pos + sizes[i])
        if a < b:
            out.append(Segment(urls[i], a - pos, b - pos))
        pos += sizes[i]
        if pos >= hi:
            break
    return out


def batches_skipped_by_worker(batches_done: int, worker: int, num_workers: int) -> int:
    """How many of its batches logical ``worker`` had delivered after ``batches_done`` batches
    of this rank, given that batch j of the epoch comes from logical worker j mod W."""
    return max(0, math.ceil((batches_done - worker) / num_workers))
