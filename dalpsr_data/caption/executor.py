"""Executors: a local loop and a Ray actor pool, both calling ``stage.process_shard``.

Each worker loads its models once and then processes whole shards. In the Ray pool a
crashed actor (process died, node lost) is replaced and its shard redone, up to
``cfg.retries`` times per shard; an exception raised inside ``process_shard`` fails only
that shard. Both executors report every finished shard through ``on_done``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from dalpsr_data.caption.batching import reason_of
from dalpsr_data.caption.config import CaptionConfig
from dalpsr_data.caption.interfaces import ModelFactory
from dalpsr_data.caption.stage import process_shard
from dalpsr_data.config_io import ConfigError
from dalpsr_data.ray_runtime import init_ray

OnDone = Callable[[str, dict[str, Any] | None, str], None]  # (shard, stats or None, failure reason)


def run_local(root: Path, shards: list[str], cfg: CaptionConfig, factory: ModelFactory,
              output_hash: str, on_done: OnDone) -> None:
    """All shards in this process, in order."""
    models = factory(cfg)
    for name in shards:
        try:
            stats = process_shard(root, name, cfg, models, output_hash)
        except Exception as e:  # the shard fails, is reported, and the run goes on
            on_done(name, None, reason_of(e))
            continue
        on_done(name, stats, "")


class CaptionWorker:
    """The body of one Ray actor: models loaded once in __init__, one shard per call."""

    def __init__(self, cfg: CaptionConfig, factory: ModelFactory) -> None:
        self.cfg = cfg
        self.models = factory(cfg)

    def process(self, root: str, tar_name: str, output_hash: str) -> dict[str, Any]:
        return process_shard(root, tar_name, self.cfg, self.models, output_hash)


def _actor_slots(cfg: CaptionConfig) -> int:
    """How many actors the cluster can host at once; an actor that never starts would hang its shard."""
    import ray


    resources = ray.cluster_resources()
    slots = int(resources.get("CPU", 0) // cfg.cpus_per_actor)
    if cfg.device == "cuda":
        slots = min(slots, int(resources.get("GPU", 0)))
    if slots < 1:
        raise ConfigError(f"the Ray cluster has no room for one caption actor ({cfg.cpus_per_actor} CPU"
                          f"{', 1 GPU' if cfg.device == 'cuda' else ''}; cluster: {dict(resources)}): "
                          f"lower --cpus-per-actor or use --device cpu")
    return slots


def run_ray(root: Path, shards: list[str], cfg: CaptionConfig, factory: ModelFactory,
            output_hash: str, on_done: OnDone) -> None:
    """``cfg.gpus`` actors (one GPU each, or ``num_gpus=0`` with --device cpu) share the shards."""
    import ray


    init_ray(address=cfg.address or None)
    gpus = 1 if cfg.device == "cuda" else 0
    n_actors = min(cfg.gpus, len(shards), _actor_slots(cfg))
    actor_cls = ray.remote(num_gpus=gpus, num_cpus=cfg.cpus_per_actor, max_restarts=0)(CaptionWorker)
    pending = list(shards)
    attempts = {name: 0 for name in shards}
    running: dict[Any, tuple[Any, str]] = {}  # task ref -> (actor, shard)
    idle = [actor_cls.remote(cfg, factory) for _ in range(n_actors)]

    def submit() -> None:
        while idle and pending:
            actor, name = idle.pop(), pending.pop(0)
            running[actor.process.remote(str(root), name, output_hash)] = (actor, name)

    submit()
    while running:
        [ref], _ = ray.wait(list(running), num_returns=1)
        actor, name = running.pop(ref)
        try:
            stats = ray.get(ref)
        except ray.exceptions.RayActorError as e:
            # The process died (segfault, OOM kill, lost node): replace the actor, redo the shard.
            ray.kill(actor, no_restart=True)
            attempts[name] += 1
            if attempts[name] <= cfg.retries:
                pending.insert(0, name)
            else:
                on_done(name, None, f"actor crashed {attempts[name]} times: {reason_of(e)}")
            idle.append(actor_cls.remote(cfg, factory))
        except ray.exceptions.RayTaskError as e:
            on_done(name, None, reason_of(e.cause if e.cause is not None else e))
            idle.append(actor)
        else:
            on_done(name, stats, "")
            idle.append(actor)
        submit()
    for actor in idle:
        ray.kill(actor, no_restart=True)
