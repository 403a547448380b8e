"""Plan, check, execute and summarise a caption run over a finished build folder.

Everything that can be wrong with the configuration (missing build, uncommitted shard,
missing model file or tag list, captions made with other settings) fails here before
any model is loaded. Committed caption shards are skipped, so a rerun resumes.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Any, Callable

from dalpsr_data import schema
from dalpsr_data.atomic import remove_orphan_temporaries, write_json_atomic
from dalpsr_data.build.outdir import CAPTION_JSON, own_caption_files
from dalpsr_data.caption.config import RUNTIME_ONLY, CaptionConfig
from dalpsr_data.caption.interfaces import ModelFactory, Models
from dalpsr_data.caption.llava_captioner import build_models, check_llava_folder
from dalpsr_data.caption.ram_tagger import ram_paths
from dalpsr_data.caption.stage import process_shard
from dalpsr_data.config_io import ConfigError, changed_options, to_dict
from dalpsr_data.jobs import Job, JobFailure, RayActors, ShardStats, run_shards
from dalpsr_data.outlock import output_lock
from dalpsr_data.progress import Progress
from dalpsr_data.versions import package_versions



VERSIONED = ("dalpsr", "torch", "transformers", "timm")


def check_inputs(root: Path, cfg: CaptionConfig) -> list[dict[str, Any]]:
    """Validate the build and the model files; returns the index's shard list."""

    try:
        shards = schema.read_index(root)["shardlist"]
    except schema.ShardFormatError as e:
        raise ConfigError(str(e)) from e
    for entry in shards:
        if not schema.marker_path(root / entry["url"]).is_file():
            raise ConfigError(f"{root / entry['url']} is not committed (no .done.json): finish the build first")
    check_llava_folder(cfg)
    if cfg.tagger == "ram":
        ram_paths(cfg)
    if cfg.device == "cuda":
        import torch

        if not torch.cuda.is_available() and not cfg.address:
            raise ConfigError("--device cuda but no CUDA device is visible: use --device cpu")
    return shards


def _model_ids(cfg: CaptionConfig) -> dict[str, Any]:
    ram = None
    if cfg.tagger == "ram":
        ckpt = Path(cfg.ram_checkpoint)
        ram = {"checkpoint": ckpt.name, "bytes": ckpt.stat().st_size, "variant": cfg.ram_variant}
    return {"llava": Path(cfg.llava).name, "ram": ram,
            "vision_tower": Path(cfg.vision_tower).name if cfg.vision_tower else None}


def write_caption_json(root: Path, cfg: CaptionConfig) -> str:
    """Save resolved config + model ids; refuse to mix with captions made by other settings."""
    path = root / schema.CAPTIONS_DIR / CAPTION_JSON
    output_hash = cfg.output_hash()
    if path.is_file():
        import json

        old = json.loads(path.read_text(encoding="utf-8"))
        if old.get("output_hash") != output_hash:
            what = ", ".join(changed_options(old.get("config", {}), to_dict(cfg), RUNTIME_ONLY)) \
                or f"output hash {old.get('output_hash', '?')[:12]} != {output_hash[:12]}"
            raise ConfigError(f"{path.parent} holds captions made with other settings ({what}): "
                              f"rerun with the same options, or add --overwrite to caption again")
    write_json_atomic(path, {"config": to_dict(cfg), "output_hash": output_hash,
                             "models": _model_ids(cfg), "versions": package_versions(VERSIONED)})
    return output_hash


def run_caption(root: str | Path, cfg: CaptionConfig, executor: str = "ray",
                factory: ModelFactory | None = None, progress: bool = False,
                on_shard: Callable[[str, dict[str, Any] | None, str], None] | None = None) -> dict[str, Any]:
    """Caption every uncaptioned shard of build folder ``root``; returns the run summary.

    ``executor`` is "ray" (cfg.gpus actors, each loading the models once) or "local" (this
    process). ``factory`` builds the models in each worker (default: RAM + LLaVA from cfg).
    A shard whose attempt raised or whose actor died is redone ``cfg.retries`` times; the
    summary's ``failed_shards`` lists shards that still failed; the CLI exits non-zero then.
    """

    with output_lock(root, "BUILD"):  # one caption (or build) run at a time in the folder
        return _run_caption(Path(root), cfg.resolved(), executor, factory, progress, on_shard)


def clear_captions(root: Path) -> list[Path]:
    """``--overwrite``: remove what a caption run wrote in ``root/captions`` (the sidecars,
    their markers, caption.json, report.json, temporaries); other files stay."""
    captions_dir = root / schema.CAPTIONS_DIR
    if not captions_dir.is_dir() or captions_dir.is_symlink():
        return []
    removed = own_caption_files(captions_dir)
    for p in removed:
        p.unlink()
    return removed


def _run_caption(root: Path, cfg: CaptionConfig, executor: str, factory: ModelFactory | None,
                 progress: bool, on_shard: Callable | None) -> dict[str, Any]:
    shards = check_inputs(root, cfg)
    captions_dir = root / schema.CAPTIONS_DIR
    if cfg.overwrite:
        clear_captions(root)
    captions_dir.mkdir(exist_ok=True)
    remove_orphan_temporaries(captions_dir)
    output_hash = write_caption_json(root, cfg)
    jobs = [Job(e["url"], e["url"], size=int(e["nsamples"]), marker=str(schema.caption_marker_path(root, e["url"])))
            for e in shards]
    summary: dict[str, Any] = {"shards": len(shards), "skipped": 0, "done": 0,
                               "failed_shards": {}, "samples": 0, "ok": 0, "errors": 0, "reasons": {}}
    bar = Progress("caption", sum(j.size for j in jobs), "images", enabled=progress)

    def on_done(outcome: ShardStats | JobFailure) -> None:
        stats = outcome.result if isinstance(outcome, ShardStats) else None
        if stats is None:
            summary["failed_shards"][outcome.id] = outcome.reason
        else:
            summary["done"] += 1
            summary["samples"] += outcome.samples
            for k in ("ok", "errors"):
                summary[k] += stats[k]
            for k, v in stats["reasons"].items():
                summary["reasons"][k] = summary["reasons"].get(k, 0) + v
        if on_shard is not None:
            on_shard(outcome.id, stats, "" if stats is not None else outcome.reason)

    gpus = 1 if cfg.device == "cuda" else 0
    run = run_shards(jobs, CaptionShard(str(root), cfg, output_hash), executor=executor,
                     retries=cfg.retries, committed=lambda job: schema.is_captioned(root, job.id),
                     setup=functools.partial(factory or build_models, cfg),
                     actors=RayActors(cfg.gpus, cfg.cpus_per_actor, gpus,
                                      hint="lower --cpus-per-actor or use --device cpu"),
                     address=cfg.address or None, progress=bar, on_done=on_done)
    summary["skipped"] = len(run.skipped)
    summary["seconds"] = round(run.seconds, 3)  # the work; the progress bar's clock
    summary["images_per_s"] = round(summary["samples"] / run.seconds, 3) if run.seconds > 0 else 0.0
    write_json_atomic(captions_dir / schema.REPORT_JSON, summary)
    return summary


@dataclasses.dataclass(frozen=True)
class CaptionShard:
    """The job function: one build shard -> its caption sidecar (picklable into Ray actors)."""

    root: str
    cfg: CaptionConfig
    output_hash: str

    def __call__(self, tar_name: str, models: Models) -> dict[str, Any]:
        return process_shard(self.root, tar_name, self.cfg, models, self.output_hash)
