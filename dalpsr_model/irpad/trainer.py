"""IRPAD trainer (``dalpsr-train irpad``): train on build shards, evaluate on a held-out split, save.

Outputs in ``--out``: irpad.safetensors + irpad.json (architecture, prompts, config,
held-out metrics), eval.json (per-type accuracy and confusion matrices), checkpoints/, tb/.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import torch

from dalpsr_data.atomic import write_json_atomic
from dalpsr_data.config_io import ConfigError, to_dict
from dalpsr_data.buildinfo import BuildInfo
from dalpsr_data.outlock import holds_out_lock
from dalpsr_model.data import EpochLoader
from dalpsr_model.data.decode import CorruptSample, decode_sample
from dalpsr_model.irpad.config import IrpadConfig
from dalpsr_model.irpad.evaluate import evaluate
from dalpsr_model.irpad.io import save_irpad, write_irpad_meta
from dalpsr_model.irpad.model import Irpad, IrpadArch, irpad_loss
from dalpsr_model.irpad.augment import random_dihedral
from dalpsr_model.irpad.text import embed_prompts_with_clip
from dalpsr_model.irpad.trunk import TimmTrunk
from dalpsr_model.training.accel import make_accelerator, seed_everything
from dalpsr_model.training.loop import StepOutput, Trainer, make_optimizer, make_scheduler
from dalpsr_model.training.outdir import check_out, prepare_out

# What a run saves in --out besides checkpoints/ and tb/ (--overwrite removes only these).
OUTPUTS = ("irpad.safetensors", "irpad.json", "eval.json")
# Below this many held-out samples an accuracy is only indicative: the 95% interval of a
# proportion near 0.5 is +-1.96 * sqrt(0.25 / n), +-5.7 points at 300 samples.
MIN_HELD_OUT = 300

log = logging.getLogger(__name__)


def split_shards(cfg: IrpadConfig, build: BuildInfo) -> tuple[list[int], str, list[int] | None]:
    """(train shard indices, held-out build root, held-out shard indices or None = all);
    ``build``: cfg.shards, opened by the caller."""

    n = len(build.shards)
    if cfg.val_shards:
        return list(range(n)), cfg.val_shards, None
    if cfg.holdout_shards >= n:
        total = sum(build.sizes)
        size = f" (e.g. --shard-size {max(1, total // 8)} for about 8 shards)" if total >= 8 else ""
        raise ConfigError(f"{cfg.shards} has {n} shard(s) of {total} samples: "
                          f"cannot hold out {cfg.holdout_shards} for evaluation; give --val-shards "
                          f"<another build>, or rebuild it with a smaller `dalpsr-data build "
                          f"--shard-size`{size}")
    return list(range(n - cfg.holdout_shards)), cfg.shards, list(range(n - cfg.holdout_shards, n))


def held_out_warning(n: int) -> str | None:
    """The warning for a held-out split of ``n`` samples, or None when it is large enough."""
    if n >= MIN_HELD_OUT:
        return None
    half_width = 100 * 1.96 * math.sqrt(0.25 / max(n, 1))
    return (f"the held-out split has {n} samples (< {MIN_HELD_OUT}): its accuracies are only "
            f"indicative (about +-{half_width:.0f} points at 95%); give --val-shards <a build of "
            f"other photos> or raise --holdout-shards")


def check_degrees_recorded(build: BuildInfo | str, shard_index: int) -> None:
    """--label-sigma needs the continuous degrees in deg.json: decode them from the first
    sample of the first training shard before any work, instead of dropping every sample."""

    build = BuildInfo.of(build)
    for key, members, _ in build.iter_samples([shard_index], captions="ignore"):
        try:
            decode_sample(key, members, "", ("degrees",), hr_signed=True)
        except CorruptSample as e:
            path = build.shard_path(build.urls[shard_index])
            raise ConfigError(f"{path}: {key}: {e} (a build from another tool?): "
                              f"give --label-sigma 0 to train on the bins alone") from e
        return


def query_source(cfg: IrpadConfig) -> dict[str, str]:
    """What IRPAD's 12 queries are made of, recorded in irpad.json: the base's CLIP text
    encoder's embeddings of the prompts (Sec. III.B.2) or free learned vectors."""
    if cfg.queries == "clip" or (cfg.queries == "auto" and cfg.base_model):
        return {"source": "clip_text_encoder", "base_model": cfg.base_model}
    return {"source": "learned"}


def build_irpad(cfg: IrpadConfig):

    text = None
    if query_source(cfg)["source"] == "clip_text_encoder":
        text = embed_prompts_with_clip(cfg.base_model)
    arch = IrpadArch(trunk=cfg.trunk, width=cfg.width, stats=cfg.stats and cfg.trunk == "conv", timm_model=cfg.timm_model, dim=cfg.dim,
                     heads=cfg.heads, blocks=cfg.blocks, text_dim=0 if text is None else text.shape[1])
    trunk = TimmTrunk(cfg.timm_model, cfg.trunk_weights) if cfg.trunk == "timm" else None
    return Irpad(arch, text, trunk)  # one trunk: a timm one is built once, with its weights


def corrupt_skips(local: int, acc: Any) -> int:
    """Corrupt samples skipped in training, over every epoch and process (a collective)."""
    if acc.num_processes == 1:
        return int(local)
    return int(acc.reduce(torch.tensor([local], device=acc.device), reduction="sum").item())


@holds_out_lock
def train_irpad(cfg: IrpadConfig, build: BuildInfo | None = None) -> dict[str, Any]:
    """Train on ``build`` (cfg.shards, opened here when not given), evaluate and save;
    returns {"result": TrainResult, "eval": metrics}."""

    build = build if build is not None else BuildInfo.open(cfg.shards, "--shards")
    train_idx, val_root, val_idx = split_shards(cfg, build)
    val_build = BuildInfo.open(val_root, "--val-shards") if cfg.val_shards else build
    held = [val_build.sizes[i] for i in (val_idx if val_idx is not None else range(len(val_build.sizes)))]
    check_out(cfg, OUTPUTS)  # before the warning below: a refused --out is the only line
    if (warning := held_out_warning(sum(held))) is not None:
        log.warning(warning)
    if cfg.label_sigma > 0 and train_idx:
        check_degrees_recorded(build, train_idx[0])
    prepare_out(cfg, OUTPUTS)
    acc = make_accelerator(cfg)
    seed_everything(cfg.seed, acc.process_index)
    model = build_irpad(cfg)
    optimizer = make_optimizer(cfg, model.parameters())
    scheduler = make_scheduler(cfg, optimizer)
    model, optimizer = acc.prepare(model, optimizer)
    fields = ("lr", "bins", "degrees") if cfg.label_sigma > 0 else ("lr", "bins")
    loader = EpochLoader.from_config(cfg, acc, build, fields=fields, shard_indices=train_idx)

    def val_batches():
        return EpochLoader(val_build, batch_size=cfg.batch_size, fields=("lr", "bins"),
                           shard_indices=val_idx, max_epochs=1, drop_empty=True)

    def training_step(batch: dict[str, Any]) -> StepOutput:
        lr = batch["lr"].to(acc.device)
        if cfg.flips:
            lr = random_dihedral(lr, cfg.rotations)
        with acc.autocast():
            logits = model(lr)
        degrees = batch["degrees"].to(acc.device) if "degrees" in batch else None
        loss, logs = irpad_loss(logits.float(), batch["bins"].to(acc.device), degrees, cfg.label_sigma)
        return StepOutput(loss, lr.shape[0], logs)

    def validate(step: int) -> dict[str, float]:
        m = evaluate(acc.unwrap_model(model), val_batches(), acc.device, cfg.tta)
        return {f"acc_{k}": v for k, v in m["accuracy"].items()}

    trainer = Trainer(cfg, acc, models={"irpad": model}, optimizer=optimizer, scheduler=scheduler,
                      loader=loader, training_step=training_step, validate=validate,
                      validate_every=cfg.eval_every, description="irpad")
    result = trainer.fit()
    trained = acc.unwrap_model(model)
    meta = {"config": to_dict(cfg), "tta": cfg.tta, "queries": query_source(cfg)}
    if acc.is_main_process:  # the weights first: whatever happens in evaluation, they are saved
        save_irpad(trained, cfg.out, meta)
    train_skips = corrupt_skips(loader.corrupt, acc)
    metrics = evaluate(trained, val_batches(), acc.device, cfg.tta)
    if acc.is_main_process:
        held = {"root": val_root, "shards": val_idx if val_idx is not None else "all"}
        corrupt = {"train_skips": train_skips, "held_out": metrics.pop("corrupt")}
        metrics = {**metrics, "held_out": held, "step": result.step, "corrupt_samples": corrupt}
        write_irpad_meta(trained, cfg.out, {**meta, "eval": metrics})
        write_json_atomic(f"{cfg.out}/eval.json", metrics)
    acc.wait_for_everyone()
    return {"result": result, "eval": metrics}
