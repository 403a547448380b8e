"""`dalpsr-train --shards DIR ...` with no stage: the paper's recipe, IRPAD then the ControlNet.

IRPAD (Section III.B) is trained first unless ``--irpad`` names a trained one, then the
ControlNet (Section III.D) on SD 2.1-base. Both stages read their settings from the same
preset (``--pipeline``, default ``paper``: its ``irpad:`` and ``controlnet:`` sections);
the recipe sets only where they read and write: ``OUT/irpad`` and ``OUT/controlnet``.
Every configuration is built and checked before IRPAD starts, so a bad ControlNet option
or a missing base folder fails in seconds, not after the IRPAD run. ``OUT/recipe.json``
records what ran and where the results are.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import typer

from dalpsr_data.config_io import ConfigError, load_config, to_dict


@dataclass(frozen=True)
class RecipeConfig:
    """Options of the recipe (the app callback); stage settings come from the preset."""

    shards: str = ""
    base: str = ""
    out: str = "runs/dalpsr"
    pipeline: str = "paper"
    irpad: str = ""
    cpu: bool = False
    resume: str = ""

    def __post_init__(self) -> None:
        if not self.shards:
            raise ConfigError("give --shards <build folder> to run the recipe, or name a stage "
                              "(see `dalpsr-train --help`)")
        if not self.base:
            raise ConfigError("give --base <Stable Diffusion 2.1-base folder, diffusers layout>")


def stage_configs(rc: RecipeConfig) -> tuple[Any, Any]:
    """(IrpadConfig or None when --irpad is given, ControlNetConfig), checked, no work done."""
    from dalpsr_model.controlnet.base import check_base_folder
    from dalpsr_model.controlnet.config import ControlNetConfig
    from dalpsr_model.train.commands.irpad import IrpadConfig

    if not (Path(rc.shards) / "index.json").is_file():
        raise ConfigError(f"--shards {rc.shards}: no index.json (make the build with "
                          f"`dalpsr-data build --out {rc.shards}` first)")
    out = Path(rc.out)
    common = {"shards": rc.shards, "cpu": rc.cpu or None, "resume": rc.resume or None}
    irpad_cfg = None
    if rc.irpad:
        if not (Path(rc.irpad) / "irpad.safetensors").is_file():
            raise ConfigError(f"--irpad {rc.irpad}: no irpad.safetensors there (a folder written "
                              f"by `dalpsr-train irpad`)")
    else:
        irpad_cfg = load_config(IrpadConfig, rc.pipeline, "irpad", {**common, "out": str(out / "irpad")})
    cn_cfg = load_config(ControlNetConfig, rc.pipeline, "controlnet",
                         {**common, "out": str(out / "controlnet"), "base": rc.base})
    check_base_folder(cn_cfg.base)
    return irpad_cfg, cn_cfg


def run_recipe(rc: RecipeConfig) -> dict[str, Any]:
    """Run the recipe; returns (and writes to OUT/recipe.json) where each result is."""
    from dalpsr_data.atomic import write_json_atomic
    from dalpsr_model.controlnet.trainer import train_controlnet
    from dalpsr_model.irpad.io import load_irpad
    from dalpsr_model.train.commands.irpad import train_irpad

    irpad_cfg, cn_cfg = stage_configs(rc)
    summary: dict[str, Any] = {"recipe": to_dict(rc)}
    if irpad_cfg is not None:
        irpad = train_irpad(irpad_cfg)
        summary["irpad"] = {"path": irpad_cfg.out, "step": irpad["result"].step,
                            "accuracy": irpad["eval"].get("accuracy")}
        irpad_dir = irpad_cfg.out
    else:
        irpad_dir = rc.irpad
        summary["irpad"] = {"path": irpad_dir, "given": True}
    load_irpad(irpad_dir)  # the pair is usable at inference: IRPAD must load
    result = train_controlnet(cn_cfg)
    summary["controlnet"] = {"path": str(Path(cn_cfg.out) / "controlnet"), "step": result.step,
                             "last_loss": result.losses[-1] if result.losses else None}
    Path(rc.out).mkdir(parents=True, exist_ok=True)
    write_json_atomic(Path(rc.out) / "recipe.json", summary)
    return summary


def register(app: typer.Typer) -> None:
    @app.callback(invoke_without_command=True)
    def recipe(
        ctx: typer.Context,
        shards: Optional[str] = typer.Option(None, "--shards", help="Build folder (index.json + shard-*.tar) to train on; with no stage named, runs the paper's recipe.", show_default="none"),
        base: Optional[str] = typer.Option(None, "--base", help="Stable Diffusion 2.1-base folder in diffusers layout (read offline).", show_default="none"),
        out: str = typer.Option("runs/dalpsr", "--out", help="Output root: OUT/irpad, OUT/controlnet, OUT/recipe.json."),
        pipeline: str = typer.Option("paper", "--pipeline", help="Preset (pipelines/<name>.yaml or a yaml path) whose irpad: and controlnet: sections configure the stages."),
        irpad: str = typer.Option("", "--irpad", help="A trained IRPAD folder (irpad.safetensors): skip training IRPAD.", show_default="none"),
        cpu: bool = typer.Option(False, "--cpu/--no-cpu", help="Train on the CPU even when an accelerator is present."),
        resume: str = typer.Option("", "--resume", help="'latest': both stages continue from their newest checkpoints.", show_default="none"),
    ) -> None:
        if ctx.invoked_subcommand is not None:
            return  # a stage was named: its own command does the work
        if shards is None and base is None:
            typer.echo(ctx.get_help())
            raise typer.Exit(0)
        try:
            rc = RecipeConfig(shards=shards or "", base=base or "", out=out, pipeline=pipeline,
                              irpad=irpad, cpu=cpu, resume=resume)
            stage_configs(rc)  # every option checked before any work starts
        except ConfigError as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(2) from e
        summary = run_recipe(rc)
        typer.echo(f"recipe done: IRPAD in {summary['irpad']['path']}, "
                   f"ControlNet in {summary['controlnet']['path']}")
