"""ShardStream: an IterableDataset yielding collated batches for one (rank, worker) slot.

Per slot and epoch: read the slot's segments (see plan.py) as raw bytes, pass them
through a shuffle buffer seeded by (seed, epoch, rank, worker), cut into batches of
``batch_size`` raw samples, skip the batches already delivered (resume; no decoding),
then decode and collate. A corrupt sample is dropped from its batch, counted in the
batch's ``n_corrupt`` and logged; batch boundaries are fixed on the raw stream, so
corruption never changes how many batches a rank yields (a batch with no good sample
repeats the worker's last good one, logged).
"""

from __future__ import annotations

import logging
import tarfile
from pathlib import Path
from typing import Any, Iterator

from torch.utils.data import IterableDataset, get_worker_info

from dalpsr_data.buildinfo import BuildInfo
from dalpsr_data.schema import ShardFormatError, build_command, split_member_name
from dalpsr_data.seeding import rng_for
from dalpsr_model.data.decode import ALL_FIELDS, CorruptSample, collate, decode_sample
from dalpsr_model.data.plan import Segment, batches_skipped_by_worker, epoch_plan, slot_segments

log = logging.getLogger(__name__)

# A raw item: (key, members, caption) or (key_or_None, None, reason) for an unreadable one.
Raw = tuple[Any, Any, str]


class MissingShardError(FileNotFoundError):
    """A shard listed in index.json is not in the build folder."""


def check_shards(root: Path, urls: list[str]) -> None:
    missing = [u for u in urls if not (root / u).is_file()]
    if missing:
        raise MissingShardError(
            f"{len(missing)} shard(s) listed in {root / 'index.json'} are missing, e.g. "
            f"{missing[:3]}: copy them back, or rebuild them with `{build_command(root)}`")


def read_segment(build: BuildInfo, seg: Segment, with_captions: bool = True) -> Iterator[Raw]:
    """Raw samples ``[start, stop)`` of one shard of ``build``; exactly ``stop - start`` items.

    Skipped samples are not read into memory. A truncated or unreadable tar yields
    placeholder items with the reason so the slot's sample count stays as planned.
    """
    path = build.shard_path(seg.url)
    if not path.is_file():
        raise MissingShardError(f"shard {path} is missing (listed in index.json): copy it back, "
                                f"or rebuild it with `{build_command(build.root)}`")
    captions = build.captions(seg.url) if with_captions else {}  # only a stage that uses them
    produced, pos, key, members = 0, -1, None, {}

    def emit():
        rec = captions.get(key, {})
        return key, members, str(rec.get("caption", "") or "")

    try:
        with tarfile.open(path, mode="r:") as tf:
            for info in tf:
                k, ext = split_member_name(info.name)
                if k != key:
                    if key is not None and seg.start <= pos < seg.stop:
                        yield emit()
                        produced += 1
                    key, members, pos = k, {}, pos + 1
                    if pos >= seg.stop:
                        return
                if seg.start <= pos < seg.stop:
                    if not info.isfile():
                        raise ShardFormatError(f"member {info.name!r} is not a regular file")
                    f = tf.extractfile(info)
                    members[ext] = f.read() if f is not None else b""
            if key is not None and seg.start <= pos < seg.stop:
                yield emit()
                produced += 1
    except (tarfile.TarError, ShardFormatError, OSError) as e:
        reason = f"{seg.url}: unreadable after {pos + 1} samples ({e})"
        log.warning(reason)
        for _ in range(seg.stop - seg.start - produced):
            yield None, None, reason
        return
    for _ in range(seg.stop - seg.start - produced):  # fewer samples than index.json says
        yield None, None, f"{seg.url}: has fewer samples than index.json lists"


def shuffled(items: Iterator[Raw], size: int, rng: Any) -> Iterator[Raw]:
    """Reservoir-style shuffle buffer over raw items with a seeded numpy Generator."""
    buf: list[Raw] = []
    for item in items:
        if len(buf) < size:
            buf.append(item)
            continue
        j = int(rng.integers(len(buf)))
        buf[j], item = item, buf[j]
        yield item
    while buf:
        yield buf.pop(int(rng.integers(len(buf))))


class ShardStream(IterableDataset):
    """Batches of one epoch for this process; see module docstring.

    ``build``: a :class:`BuildInfo` or a build folder (opened here). Each batch: dict with
    the requested ``fields`` (lr (B,3,p,p) float32 [0,1]; hr (B,3,P,P) float32 [-1,1] or [0,1],
    P = build.patch_size (512 by default), p = P / build.scale (128); bins (B,3) int64; degrees
    (B,3) float32; prompt, caption, key: lists of str) plus ``n_corrupt`` (int); with
    ``drop_empty`` a batch whose every sample is corrupt is ``{"n_corrupt": n}`` alone.
    """

    def __init__(self, build: BuildInfo | str | Path, *, batch_size: int, seed: int = 0, rank: int = 0,
                 world_size: int = 1, num_workers: int = 0, shuffle_buffer: int = 256,
                 fields: tuple[str, ...] = ALL_FIELDS, hr_signed: bool = True,
                 shard_indices: list[int] | None = None, drop_empty: bool = False) -> None:
        self.build = BuildInfo.of(build)
        # Evaluation: a batch with no good sample is yielded as {"n_corrupt": n} alone
        # (counted, nothing scored) instead of repeating a training sample or failing.
        self.drop_empty = drop_empty
        self.root = self.build.root
        index = self.build.shards
        chosen = range(len(index)) if shard_indices is None else shard_indices
        self.urls = [index[i]["url"] for i in chosen]
        self.sizes = [int(index[i]["nsamples"]) for i in chosen]
        check_shards(self.root, self.urls)
        unknown = set(fields) - set(ALL_FIELDS)
        if unknown:
            raise ValueError(f"unknown fields {sorted(unknown)}; choose from {ALL_FIELDS}")
        self.batch_size, self.seed, self.rank, self.world_size = batch_size, seed, rank, world_size
        self.num_workers, self.shuffle_buffer = max(1, num_workers), shuffle_buffer
        self.fields, self.hr_signed = tuple(fields), hr_signed
        self.epoch, self.batches_done = 0, 0

    def plan(self, epoch: int):
        return epoch_plan(self.sizes, self.seed, epoch, self.world_size * self.num_workers, self.batch_size)

    def batches_per_epoch(self, epoch: int = 0) -> int:
        """Batches this rank yields in ``epoch`` (the same on every rank)."""
        return self.plan(epoch).batches_per_slot * self.num_workers

    def set_position(self, epoch: int, batches_done: int) -> None:
        """Start the next iteration at batch ``batches_done`` of ``epoch`` (resume)."""
        self.epoch, self.batches_done = epoch, batches_done

    def _logical_worker(self) -> int:
        info = get_worker_info()
        physical = 0 if info is None else info.id
        # DataLoader asks worker 0 first; after a resume the next batch is due from logical
        # worker batches_done mod W, so rotate the roles to keep the uninterrupted order.
        return (physical + self.batches_done) % self.num_workers

    def raw_batches(self, worker: int) -> Iterator[list[Raw]]:
        plan = self.plan(self.epoch)
        slot = self.rank * self.num_workers + worker
        segs = slot_segments(self.urls, self.sizes, plan, slot)
        rng = rng_for(self.seed, f"{self.epoch}/{self.rank}/{worker}", "shuffle-buffer")
        with_captions = "caption" in self.fields  # IRPAD does not read (or trip on) sidecars
        items = shuffled((r for s in segs for r in read_segment(self.build, s, with_captions)),
                         self.shuffle_buffer, rng)
        batch: list[Raw] = []
        for item in items:
            batch.append(item)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch:
            yield batch

    def __iter__(self) -> Iterator[dict[str, Any]]:
        info = get_worker_info()
        if info is not None and info.num_workers != self.num_workers:
            raise RuntimeError(f"ShardStream planned for {self.num_workers} workers but runs "
                               f"under {info.num_workers}; build it with the DataLoader's num_workers")
        worker = self._logical_worker()
        self._last_good: dict[str, Any] | None = None
        skip = batches_skipped_by_worker(self.batches_done, worker, self.num_workers)
        for i, raw in enumerate(self.raw_batches(worker)):
            if i >= skip:
                yield self._decode_batch(raw)

    def _decode_batch(self, raw: list[Raw]) -> dict[str, Any]:
        samples, corrupt, first_reason = [], 0, ""
        for key, members, extra in raw:
            try:
                if members is None:
                    raise CorruptSample(extra)
                samples.append(decode_sample(key, members, extra, self.fields, self.hr_signed,
                                             self.build.geometry))
            except CorruptSample as e:
                corrupt += 1
                first_reason = first_reason or (f"{key}: {e}" if key is not None else str(e))
                if key is not None:
                    log.warning("skipped sample %s: %s", key, e)
                else:  # a sample of an unreadable shard has no key: the reason names the shard
                    log.warning("skipped a sample: %s", e)
        if not samples and self.drop_empty:
            return {"n_corrupt": corrupt}
        if samples:
            self._last_good = samples[-1]
        elif self._last_good is not None:
            # Every sample corrupt (e.g. a truncated shard met a small batch): repeat this
            # worker's last good sample once rather than yield an empty batch, which would
            # leave this rank a step short of the others under DDP.
            log.warning("batch of %d corrupt samples replaced by a repeat of %s", len(raw),
                        self._last_good.get("key", "the last good sample"))
            samples = [self._last_good]
        else:
            raise CorruptSample(f"every sample of a batch of {len(raw)} is corrupt (e.g. {first_reason}) "
                                f"and none decoded before it; check the build ({self.root})")
        batch = collate(samples, self.fields)
        batch["n_corrupt"] = corrupt
        return batch
