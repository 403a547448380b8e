"""One shard, start to finish: decode, crop, degrade, encode, write the tar, commit.

``process_shard(task)`` is a plain function: the local loop and the Ray executor both
call it. A file that cannot be used becomes a SkipRecord (never an exception); an
exception out of here means the shard itself failed (disk full, a bug) and is retried.
The job runner (dalpsr_data.jobs) writes the commit marker, from the returned content,
only after the tar has been renamed into place.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dalpsr_data import schema
from dalpsr_data.build.plan import sibling_key
from dalpsr_data.build.png import encode_png
from dalpsr_data.build.shard_writer import write_shard
from dalpsr_data.config_io import ConfigError, canonical_json
from dalpsr_data.decode import DecodedImage, DecodeError, decode_file
from dalpsr_data.degradation import DegradationConfig, apply, describe, sample_params
from dalpsr_data.jobs import advance
from dalpsr_data.memory import keep_freed_memory as glibc_keep_freed_memory
from dalpsr_data.patches import CropBox, PatchConfig, extract, place_patch_crop, small_image_reason
from dalpsr_data.record import PatchSpec, SampleRecord, SkipRecord
from dalpsr_data.seeding import rng_for

CROP_STREAM, DEGRADE_STREAM = "crop", "degrade"
NOT_DISTINCT = "no_distinct_crop"  # the photo has no further distinct crop position: not made


@dataclass(frozen=True)
class ShardTask:
    """Everything a worker needs for one shard (picklable; no open files or Ray handles)."""

    index: int
    name: str
    out_dir: str
    plan_hash: str
    patches: tuple[PatchSpec, ...]
    seed: int
    patch_cfg: PatchConfig
    deg_cfg: DegradationConfig
    png_compression: int


_KEEP_BYTES = 32 << 20  # glibc's largest mmap threshold; a patch's arrays are 1-7 MB each


@functools.cache
def keep_freed_memory() -> None:
    """Let glibc reuse freed multi-MB arrays instead of returning them to the kernel.

    Without it every fresh array page-faults on first write: ~8 ms of a triplet's 40 (USM
    alone 13.7 -> 9.4 ms, benchmarks/degrade.py). Once per process (cached).
    """
    glibc_keep_freed_memory(_KEEP_BYTES, 2 * _KEEP_BYTES)


def _set_single_thread() -> None:
    """One thread per worker: the executor already runs one task per core, and the
    degradation's bytes must not depend on a thread count. Also keeps freed memory."""
    import cv2

    cv2.setNumThreads(1)
    keep_freed_memory()


def _json_bytes(obj: Any) -> bytes:
    """The canonical (sorted, compact, ASCII) JSON of a member, newline-terminated."""
    return (canonical_json(obj) + "\n").encode()


def crop_box(spec: PatchSpec, image: DecodedImage, task: ShardTask) -> CropBox | None:
    """The crop of ``spec`` (None: the photo has no further distinct position), drawn from
    the crop streams of the photo's patches, which are seeded by their keys."""
    def rng_of(j: int):
        return rng_for(task.seed, sibling_key(spec, j), CROP_STREAM)

    return place_patch_crop(*image.size, int(task.deg_cfg.patch_size), spec.patch_index, rng_of,
                            task.patch_cfg.repeat_crops)


def make_sample(spec: PatchSpec, image: DecodedImage, task: ShardTask, box: CropBox) -> SampleRecord:
    """Crop and degrade one patch. Shapes: HR (P, P, 3), LR (P/scale, P/scale, 3), uint8 RGB."""
    gt = extract(image.rgb, box)
    params = sample_params(rng_for(task.seed, spec.key, DEGRADE_STREAM), task.deg_cfg)
    hr, lr = apply(gt, params, task.deg_cfg)
    deg = describe(params, task.deg_cfg)
    src = {"source": spec.source, "path": spec.rel_path, "key": spec.key,
           "patch_index": spec.patch_index, "crop": box.to_dict(), "seed": task.seed,
           "crop_stream": CROP_STREAM, "degrade_stream": DEGRADE_STREAM, "format": image.format,
           # A string, not a list: an empty list would make columnar readers infer a null type.
           "conversions": ",".join(image.conversions), "converted": bool(image.conversions),
           "padded": bool(box.pad_bottom or box.pad_right)}
    bins = {t: int(deg["bins"][t]) for t in schema.DEGRADATION_TYPES}
    return SampleRecord(spec.key, hr, lr, deg, str(deg["prompt"]), src, bins)


def sample_members(rec: SampleRecord, level: int) -> dict[str, bytes]:
    return {"hr.png": encode_png(rec.hr, level), "lr.png": encode_png(rec.lr, level),
            "deg.json": _json_bytes(rec.deg), "prompt.txt": rec.prompt.encode("utf-8"),
            "src.json": _json_bytes(rec.src)}


def preflight(deg_cfg: DegradationConfig) -> None:
    """Run the degradation once on the driver, so a bad configuration (or a calibration
    table that does not match it) fails before any shard starts, with its own message."""

    params = sample_params(rng_for(0, "preflight", DEGRADE_STREAM), deg_cfg)
    describe(params, deg_cfg)
    size = int(deg_cfg.patch_size)
    hr, lr = apply(np.zeros((size, size, 3), np.uint8), params, deg_cfg)
    if hr.shape != (size, size, 3) or lr.shape[2] != 3 or hr.dtype != np.uint8:
        raise ConfigError(f"degradation returned HR {hr.shape} {hr.dtype}, LR {lr.shape}: expected "
                          f"uint8 ({size}, {size}, 3) and an RGB LR")


def _decode_for(spec: PatchSpec, task: ShardTask, cache: dict) -> DecodedImage:
    """Decode once per file within a shard (a file's patches are adjacent in key order)."""
    ident = (spec.source, spec.rel_path)
    if cache.get("id") != ident:
        cache.clear()
        cache["id"] = ident
        try:
            cache["img"] = decode_file(Path(spec.root) / spec.rel_path, task.patch_cfg.max_pixels)
        except DecodeError as e:
            cache["err"] = e
    if "err" in cache:
        raise cache["err"]
    return cache["img"]


def _build_one(spec: PatchSpec, task: ShardTask, cache: dict) -> SampleRecord | SkipRecord:
    """One planned patch -> a finished sample, or the reason it was skipped."""
    try:
        image = _decode_for(spec, task, cache)
    except DecodeError as e:
        return SkipRecord(spec.key, spec.source, spec.rel_path, e.reason, e.detail)
    reason = small_image_reason(*image.size, int(task.deg_cfg.patch_size), task.patch_cfg)
    if reason:
        return SkipRecord(spec.key, spec.source, spec.rel_path, reason,
                          f"{image.size[0]}x{image.size[1]} pixels")
    box = crop_box(spec, image, task)
    if box is None:
        return SkipRecord(spec.key, spec.source, spec.rel_path, NOT_DISTINCT,
                          f"{image.size[0]}x{image.size[1]} pixels: {spec.patch_index} distinct "
                          f"crop position(s) already used")
    try:
        return make_sample(spec, image, task, box)
    except ConfigError:  # a configuration problem is never a per-sample skip
        raise
    except (ValueError, ArithmeticError, MemoryError) as e:  # recorded, counted, --strict fails
        return SkipRecord(spec.key, spec.source, spec.rel_path, "degrade_error", repr(e))


def build_samples(task: ShardTask) -> tuple[list[tuple[str, dict[str, bytes]]], list[SkipRecord], dict]:
    """All samples of a shard as tar members, the skips, and bin/source counters."""
    samples: list[tuple[str, dict[str, bytes]]] = []
    skips: list[SkipRecord] = []
    bins = {t: [0] * schema.NUM_BINS for t in schema.DEGRADATION_TYPES}
    per_source: dict[str, int] = {}
    padded: list[str] = []
    not_distinct: list[str] = []
    cache: dict = {}
    for spec in task.patches:
        rec = _build_one(spec, task, cache)
        if isinstance(rec, SkipRecord) and rec.reason == NOT_DISTINCT:
            not_distinct.append(spec.key)  # by design, not a problem of the file: no skip
        elif isinstance(rec, SkipRecord):
            skips.append(rec)
        else:
            samples.append((spec.key, sample_members(rec, task.png_compression)))
            per_source[spec.source] = per_source.get(spec.source, 0) + 1
            if rec.src["padded"]:
                padded.append(spec.key)
            for t in schema.DEGRADATION_TYPES:
                bins[t][rec.bins[t]] += 1
        advance(1)  # the driver's progress bar, patch by patch
    return samples, skips, {"bins": bins, "per_source": per_source, "padded": len(padded),
                            "padded_keys": padded, "not_distinct": not_distinct}


def process_shard(task: ShardTask) -> dict[str, Any]:
    """Build and write one shard; returns the content of its commit marker.

    Marker fields: shard, nsamples, sha256, bytes, keys, plan_hash, planned, skipped, bins,
    per_source, padded (count), padded_keys, not_distinct (keys of patches not made: the
    photo had no further distinct crop position), worker_seconds. Everything but worker_seconds is deterministic.
    """
    _set_single_thread()
    t0 = time.perf_counter()
    samples, skips, counts = build_samples(task)
    tar_path = Path(task.out_dir) / task.name
    written = write_shard(tar_path, samples)
    marker = {"shard": task.name, "nsamples": len(samples), "sha256": written["sha256"],
              "bytes": written["bytes"], "keys": sorted(k for k, _ in samples),
              "plan_hash": task.plan_hash, "planned": len(task.patches),
              "skipped": [s.to_dict() for s in skips], **counts,
              "worker_seconds": round(time.perf_counter() - t0, 4)}
    return marker  # committed by the job runner (dalpsr_data.jobs) as the .done.json

