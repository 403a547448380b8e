"""Pass 2 through the shared job runner (dalpsr_data.jobs.run_shards).

One job = one batch of same-size images. ``--gpus 1`` runs the jobs in this process; with
``--gpus N`` the runner starts N Ray actors (one GPU each, or none with ``--device cpu``),
each loading the SRPipeline once (the runner's ``setup``) and taking one batch at a time.
A job is committed when every PNG of its batch exists (each written atomically by the
worker), so a rerun skips it; a failing batch is retried once, then reported by key.

Progress counts work, not images: an image is (sampler steps x its latent tiles) units, one
per UNet evaluation of a tile, so the bar moves (and a log line comes every 30 s) inside a
large image, and the ETA weighs a large image by its tiles.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from dalpsr_data.jobs import Job, JobFailure, RayActors, ShardStats, advance, run_shards
from dalpsr_data.progress import Progress
from dalpsr_model.diffusion.base import read_scheduler_config
from dalpsr_model.diffusion.sampler import make_scheduler
from dalpsr_model.diffusion.tiling import tile_count

from . import outputs
from .config import SRConfig
from .inputs import InputItem
from .pipeline import SRPipeline
from .prompts import decode_item
from .records import PromptRecord
from .sizes import plan_size

RETRIES = 1


def super_resolve_batch(pipe: SRPipeline, batch: list[InputItem], records: dict[str, PromptRecord]) -> int:
    """Decode, super-resolve and write OUT/<key>.png for one batch; returns its size."""
    recs = [records[it.key] for it in batch]
    images = [decode_item(it, pipe.cfg.max_pixels).rgb for it in batch]
    srs = pipe(images, [r.restoration for r in recs], [r.caption for r in recs], [it.key for it in batch],
               on_step=lambda done, total: advance(len(batch)))  # one unit of each image of the batch
    for item, sr in zip(batch, srs):
        outputs.write_png(pipe.cfg.out, item.key, sr)
    return len(batch)


def image_units(cfg: SRConfig, size: tuple[int, int], steps: int) -> int:
    """Progress units of one LR of ``size`` (w, h): ``steps`` x the latent tiles of its plan."""
    width, height = plan_size(*size).latent
    return steps * tile_count(height, width, cfg.tile, cfg.tile_overlap)


def _job_fn(payload: tuple[list[InputItem], dict[str, PromptRecord]], pipe: SRPipeline) -> dict[str, Any]:
    batch, records = payload
    return {"nsamples": super_resolve_batch(pipe, batch, records)}


def _load(cfg: SRConfig, device: str) -> SRPipeline:
    return SRPipeline.load(cfg, device)


def run_pass2(cfg: SRConfig, batches: list[list[InputItem]], records: dict[str, PromptRecord], device: str,
              on_failure: Callable[[list[InputItem], str], None]) -> int:
    """Super-resolve ``batches``; ``on_failure(batch, reason)`` for each batch that failed."""
    steps = len(make_scheduler(cfg.scheduler, read_scheduler_config(cfg.base), cfg.steps).timesteps)
    jobs = [Job(id=batch[0].key, payload=(batch, {it.key: records[it.key] for it in batch}),
                size=len(batch) * image_units(cfg, records[batch[0].key].size, steps))
            for batch in batches]
    by_id = {job.id: batches[i] for i, job in enumerate(jobs)}

    def committed(job: Job) -> bool:
        return all(outputs.is_done(cfg.out, it.key) for it in by_id[job.id])

    def on_done(outcome: ShardStats | JobFailure) -> None:
        if isinstance(outcome, JobFailure):
            on_failure(by_id[outcome.id], outcome.reason)

    bar = Progress("sr", sum(j.size for j in jobs), "steps", enabled=cfg.progress)
    result = run_shards(jobs, _job_fn, executor="ray" if cfg.gpus > 1 else "local", retries=RETRIES,
                        committed=committed, setup=functools.partial(_load, cfg, device),
                        actors=RayActors(cfg.gpus, 1, 1 if device == "cuda" else 0,
                                         hint="use fewer --gpus or --device cpu"),
                        address=cfg.address or None, progress=bar, on_done=on_done)
    return sum(s.samples for s in result.done)

