"""`dalpsr-train --shards DIR --base SD ...` with no stage: the paper's whole flow in one command.

The stages, in the paper's order (a stage is reused when its committed output exists):

1. ``encoder``: align LLaVA's vision tower to LR images (Sec. III.C) -> ``OUT/encoder``;
   reused from ``--vision-tower DIR``, or not needed when every shard is captioned;
2. ``caption``: RAM tags + LLaVA captions of the LR patches with the aligned tower
   (``dalpsr-data caption``'s library entry) -> ``SHARDS/captions`` (beside the shards);
3. ``irpad``: IRPAD on the triplets (Sec. III.B), its queries embedded by the base's CLIP
   text encoder (Sec. III.B.2) -> ``OUT/irpad``; reused from ``--irpad DIR``;
4. ``controlnet``: the ControlNet on SD 2.1-base (Sec. III.D) -> ``OUT/controlnet``.

Every stage reads its settings from the same preset (``--pipeline``, default ``paper``);
the recipe sets only where each reads and writes, and the model paths. Every stage's
configuration is built and checked (:func:`plan_recipe`) before the first one starts, so a
bad option fails in seconds, not after hours of an earlier stage. A rerun with the same
``--out`` skips the stages that finished. ``OUT/recipe.json`` records what ran and what was
reused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from dalpsr_data.atomic import write_json_atomic
from dalpsr_data.buildinfo import BuildInfo
from dalpsr_data.caption.config import CaptionConfig
from dalpsr_data.caption.llava_captioner import check_llava_folder
from dalpsr_data.caption.ram_tagger import ram_paths
from dalpsr_data.caption.run import run_caption
from dalpsr_data.config_io import ConfigError, load_config, to_dict
from dalpsr_data.outlock import holds_out_lock
from dalpsr_model import recipe_outputs as outputs
from dalpsr_model.controlnet.config import ControlNetConfig
from dalpsr_model.controlnet import trainer as controlnet_trainer
from dalpsr_model.controlnet.trainer import train_controlnet
from dalpsr_model.diffusion.base import check_base_folder
from dalpsr_model.encoder_align import trainer as encoder_trainer
from dalpsr_model.encoder_align.trainer import EncoderConfig, train_encoder
from dalpsr_model.irpad import trainer as irpad_trainer
from dalpsr_model.irpad.io import load_irpad
from dalpsr_model.irpad.trainer import IrpadConfig, train_irpad
from dalpsr_model.recipe_config import RecipeConfig
from dalpsr_model.training.outdir import check_out

@dataclass(frozen=True)
class Stage:
    """One step of the plan: ``action`` is run, reuse or skip; ``config`` is set when run."""

    name: str
    action: str
    path: str
    why: str
    config: Any = field(default=None, compare=False)


@dataclass(frozen=True)
class Plan:
    """What :func:`plan_recipe` decided: the four stages in order, and the build (--shards)
    it opened, which the stages then train on (opened once per run)."""

    stages: list[Stage]
    build: BuildInfo


def _caption_config(rc: RecipeConfig, tower: str) -> CaptionConfig:
    import torch

    device = "cpu" if rc.cpu or not torch.cuda.is_available() else None
    cfg = load_config(CaptionConfig, rc.pipeline, "caption",
                      {"llava": rc.llava or None, "ram_checkpoint": rc.ram_checkpoint or None,
                       "vision_tower": tower, "device": device})
    return cfg.resolved()  # $DALPSR_LLAVA / $DALPSR_RAM_CHECKPOINT fill what was not given


def _plan_captions(rc: RecipeConfig, tower: str, build: BuildInfo) -> tuple[Stage, CaptionConfig | None]:
    missing, total = outputs.uncaptioned_shards(build)
    where = str(build.caption_dir)
    if not missing:
        return Stage("caption", "reuse", where, f"all {total} shards captioned"), None
    cfg = _caption_config(rc, tower)
    if not cfg.llava or (cfg.tagger == "ram" and not cfg.ram_checkpoint):
        raise ConfigError(f"{len(missing)} of {total} shards of {rc.shards} have no captions: give --llava "
                          f"<LLaVA folder> and --ram-checkpoint <RAM .pth> to caption them in the recipe, or "
                          f"run `dalpsr-data caption {rc.shards}` first")
    check_llava_folder(CaptionConfig(**{**to_dict(cfg), "vision_tower": ""}))  # the tower comes later
    if cfg.tagger == "ram":
        ram_paths(cfg)
    outputs.check_caption_settings(rc.shards, cfg)
    return Stage("caption", "run", where, f"{len(missing)} of {total} shards uncaptioned", cfg), cfg


def plan_recipe(rc: RecipeConfig) -> Plan:
    """The four stages with what each will do; every check is made here, no work is done.

    ``rc.overwrite`` retrains the stages whose output in OUT is finished (and is passed on
    to them); given folders and existing captions are still reused."""

    build = BuildInfo.open(rc.shards, "--shards")  # MissingBuildError: a ConfigError saying what to run
    out = Path(rc.out)
    overwrite = rc.overwrite
    common = {"shards": rc.shards, "cpu": rc.cpu or None, "resume": rc.resume or None,
              "overwrite": True if overwrite else None}
    tower = rc.vision_tower or str(out / "encoder" / "vision_tower")
    caption, _ = _plan_captions(rc, tower, build)
    if rc.vision_tower:
        outputs.check_given_tower(rc.vision_tower)
        encoder = Stage("encoder", "reuse", tower, "given by --vision-tower")
    elif outputs.finished_tower(tower) and not overwrite:  # recorded: dalpsr-sr --vision-tower needs it
        encoder = Stage("encoder", "reuse", tower, f"finished in {out / 'encoder'}")
    elif caption.action == "reuse":
        encoder = Stage("encoder", "skip", "", "captions exist: the aligned tower only serves captioning")
    else:
        cfg = load_config(EncoderConfig, rc.pipeline, "encoder",
                          {**common, "out": str(out / "encoder"), "llava": caption.config.llava})
        encoder = Stage("encoder", "run", tower, "aligns LLaVA's vision tower for the captions", cfg)

    irpad_cfg = load_config(IrpadConfig, rc.pipeline, "irpad",
                            {**common, "out": str(out / "irpad"), "base_model": rc.base})
    if rc.irpad:
        outputs.check_given_irpad(rc.irpad)
        irpad = Stage("irpad", "reuse", rc.irpad, "given by --irpad")
    elif outputs.finished_irpad(irpad_cfg.out) and not overwrite:
        outputs.check_same_settings("irpad", irpad_cfg.out, irpad_cfg)
        irpad = Stage("irpad", "reuse", irpad_cfg.out, f"finished in {irpad_cfg.out}")
    else:
        irpad = Stage("irpad", "run", irpad_cfg.out, "trains on the triplets", irpad_cfg)

    cn_cfg = load_config(ControlNetConfig, rc.pipeline, "controlnet",
                         {**common, "out": str(out / "controlnet"), "base": rc.base})
    check_base_folder(cn_cfg.base)
    cn_cfg.check_build(build)  # --crop against the build's patch size, before IRPAD runs
    cn_path = str(Path(cn_cfg.out) / "controlnet")
    if outputs.finished_controlnet(cn_cfg.out) and not overwrite:
        outputs.check_same_settings("controlnet", cn_cfg.out, cn_cfg)
        controlnet = Stage("controlnet", "reuse", cn_path, f"finished in {cn_cfg.out}")
    else:
        controlnet = Stage("controlnet", "run", cn_path, "trains on SD 2.1-base", cn_cfg)
    # each stage that will run refuses an unwritable --out or a previous, unfinished run in
    # it (without --resume/--overwrite) now, not after the stages before it
    stages = [encoder, caption, irpad, controlnet]
    for stage in stages:
        if stage.action == "run" and STAGE_KINDS[stage.name].outputs is not None:
            check_out(stage.config, STAGE_KINDS[stage.name].outputs)
    return Plan(stages, build)


def _finite(x: float) -> float | None:
    """A loss for recipe.json: None instead of NaN (no step recorded), which JSON lacks."""
    return x if math.isfinite(x) else None


def _run_encoder(stage: Stage, build: BuildInfo) -> dict[str, Any]:
    result = train_encoder(stage.config, build)["result"]
    return {"step": result.step, "last_mse": _finite(result.last_loss)}


def _run_caption(stage: Stage, build: BuildInfo) -> dict[str, Any]:
    cfg = stage.config
    executor = "ray" if cfg.gpus > 1 or cfg.address else "local"
    summary = run_caption(Path(stage.path).parent, cfg, executor=executor)
    if summary["failed_shards"]:
        raise outputs.StageFailed(f"caption: {len(summary['failed_shards'])} shard(s) failed "
                                  f"(rerun the recipe to retry them): {summary['failed_shards']}")
    return {"captioned_shards": summary["done"], "samples": summary["samples"], "errors": summary["errors"]}


def _run_irpad(stage: Stage, build: BuildInfo) -> dict[str, Any]:
    out = train_irpad(stage.config, build)
    return {"step": out["result"].step, "accuracy": out["eval"].get("accuracy")}


def _run_controlnet(stage: Stage, build: BuildInfo) -> dict[str, Any]:
    result = train_controlnet(stage.config, build)
    return {"step": result.step, "last_loss": _finite(result.last_loss)}


@dataclass(frozen=True)
class StageKind:
    """How the recipe runs one kind of stage: ``run(stage, build)`` returns what recipe.json
    records about it; ``outputs``: what its --out guard protects (None: it writes beside the
    build, no --out); ``check(path)`` proves a finished or reused output usable, or None."""

    run: Callable[[Stage, BuildInfo], dict[str, Any]]
    outputs: tuple[str, ...] | None
    check: Callable[[str], Any] | None = None


# The stages in the order they run; the one table the plan and the run dispatch through.
STAGE_KINDS: dict[str, StageKind] = {
    "encoder": StageKind(_run_encoder, encoder_trainer.OUTPUTS),
    "caption": StageKind(_run_caption, None),
    "irpad": StageKind(_run_irpad, irpad_trainer.OUTPUTS, load_irpad),  # the pair must load at inference
    "controlnet": StageKind(_run_controlnet, controlnet_trainer.OUTPUTS),
}
STAGES = tuple(STAGE_KINDS)


@holds_out_lock
def run_recipe(rc: RecipeConfig, plan: Plan | None = None) -> dict[str, Any]:
    """Run the plan (made here when not given); returns (and writes to OUT/recipe.json)
    one entry per stage: action (ran / reused / skipped), path, why, and its results."""

    plan = plan if plan is not None else plan_recipe(rc)
    summary: dict[str, Any] = {"recipe": to_dict(rc)}
    for stage in plan.stages:
        entry: dict[str, Any] = {"action": {"run": "ran", "reuse": "reused", "skip": "skipped"}[stage.action],
                                 "path": stage.path, "why": stage.why}
        kind = STAGE_KINDS[stage.name]
        if stage.action == "run":
            entry.update(kind.run(stage, plan.build))
        if kind.check is not None:
            kind.check(stage.path)
        summary[stage.name] = entry
    Path(rc.out).mkdir(parents=True, exist_ok=True)
    write_json_atomic(Path(rc.out) / "recipe.json", summary)
    return summary


def summary_table(summary: dict[str, Any]) -> str:
    """Plain-text table: one row per stage (action, output, why)."""
    rows = [("stage", "action", "output", "why")]
    rows += [(name, summary[name]["action"], summary[name]["path"] or "-", summary[name]["why"])
             for name in STAGES if name in summary]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r[:3], widths)) + "  " + r[3] for r in rows)
