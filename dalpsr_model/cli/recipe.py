"""`dalpsr-train --shards DIR --base SD ...` with no stage named: the paper's recipe
(dalpsr_model.recipe). This module only parses the options and calls it."""

from __future__ import annotations

from typing import Optional

import typer

from dalpsr_data.config_io import ConfigError
from dalpsr_model.recipe import RecipeConfig, run_recipe, stage_configs


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
