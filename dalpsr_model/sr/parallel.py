"""Pass 2 through the shared job runner (dalpsr_data.jobs.run_shards).

One job = one batch of same-size images. ``--gpus 1`` runs the jobs in this process; with
``--gpus N`` the runner starts N Ray actors (one GPU each, or none with ``--device cpu``),
each loading the SRPipeline once (the runner's ``setup``) and taking one batch at a time.
A job is committed when every PNG of its batch exists (each written atomically by the
worker), so a rerun skips it; a failing batch is retried once, then reported by key.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from dalpsr_data.jobs import Job, JobFailure, RayActors, ShardStats, advance, run_shards
from dalpsr_data.progress import Progress

from . import outputs
from .config import SRConfig
from .inputs import InputItem
from .pipeline import SRPipeline
from .prompts import decode_item

RETRIES = 1


def super_resolve_batch(pipe: SRPipeline, batch: list[InputItem], records: dict[str, dict[str, Any]]) -> int:
    """Decode, super-resolve and write OUT/<key>.png for one batch; returns its size."""
    recs = [records[it.key] for it in batch]
    images = [decode_item(it, pipe.cfg.max_pixels).rgb for it in batch]
    srs = pipe(images, [r["restoration"] for r in recs], [r["caption"] for r in recs], [it.key for it in batch])
    for item, sr in zip(batch, srs):
        outputs.write_png(pipe.cfg.out, item.key, sr)
    advance(len(batch))
    return len(batch)


def _job_fn(payload: tuple[list[InputItem], dict[str, dict[str, Any]]], pipe: SRPipeline) -> dict[str, Any]:
    batch, records = payload
    return {"nsamples": super_resolve_batch(pipe, batch, records)}


def _load(cfg: SRConfig, device: str) -> SRPipeline:
    return SRPipeline.load(cfg, device)


def run_pass2(cfg: SRConfig, batches: list[list[InputItem]], records: dict[str, dict[str, Any]], device: str,
              on_failure: Callable[[list[InputItem], str], None]) -> int:
    """Super-resolve ``batches``; ``on_failure(batch, reason)`` for each batch that failed."""
    jobs = [Job(id=batch[0].key, payload=(batch, {it.key: records[it.key] for it in batch}), size=len(batch))
            for batch in batches]
    by_id = {job.id: batches[i] for i, job in enumerate(jobs)}

    def committed(job: Job) -> bool:
        return all(outputs.is_done(cfg.out, it.key) for it in by_id[job.id])

    def on_done(outcome: ShardStats | JobFailure) -> None:
        if isinstance(outcome, JobFailure):
            on_failure(by_id[outcome.id], outcome.reason)

    bar = Progress("sr", sum(len(b) for b in batches), "images", enabled=cfg.progress)
    result = run_shards(jobs, _job_fn, executor="ray" if cfg.gpus > 1 else "local", retries=RETRIES,
                        committed=committed, setup=functools.partial(_load, cfg, device),
                        actors=RayActors(cfg.gpus, 1, 1 if device == "cuda" else 0,
                                         hint="use fewer --gpus or --device cpu"),
                        address=cfg.address or None, progress=bar, on_done=on_done)
    return sum(s.samples for s in result.done)

