"""`dalpsr-train --shards DIR --base SD [--llava L --ram-checkpoint R] ...` with no stage named:
the paper's whole flow (dalpsr_model.recipe). This module only parses the options, prints
the plan's errors and the summary table."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Optional

import typer

from dalpsr_data.config_io import ConfigError
from dalpsr_data.interrupt import exit_on_signals
from dalpsr_data.library_logs import VERBOSE_HELP, quiet_libraries
from dalpsr_model.recipe_config import RecipeConfig


def recipe_hint(out: str) -> str:
    """Ctrl-C advice: finished stages are reused; the interrupted one resumes only from a checkpoint."""
    if any(Path(out).glob("*/checkpoints/checkpoint-*/meta.json")):
        return ("rerun the same command with --resume latest: finished stages are reused and the "
                "interrupted one continues from its last checkpoint")
    return "rerun the same command: finished stages are reused (the interrupted one had no checkpoint yet)"


def register(app: typer.Typer) -> None:
    @app.callback(invoke_without_command=True)
    def recipe(
        ctx: typer.Context,
        shards: Optional[str] = typer.Option(None, "--shards", help="Build folder (index.json + shard-*.tar) to train on; with no stage named, runs the paper's recipe.", show_default=False),
        base: Optional[str] = typer.Option(None, "--base", help="Stable Diffusion 2.1-base folder in diffusers layout (read offline).", show_default=False),
        out: str = typer.Option("runs/dalpsr", "--out", help="Output root: OUT/encoder, OUT/irpad, OUT/controlnet, OUT/recipe.json (captions go beside the shards)."),
        pipeline: str = typer.Option("paper", "--pipeline", help="Preset (pipelines/<name>.yaml or a yaml path) whose encoder:, caption:, irpad: and controlnet: sections configure the stages."),
        irpad: str = typer.Option("", "--irpad", help="A trained IRPAD folder (irpad.safetensors): skip training IRPAD.", show_default=False),
        vision_tower: str = typer.Option("", "--vision-tower", help="An aligned vision tower (vision_tower/ of `dalpsr-train encoder`): skip the alignment.", show_default=False),
        llava: str = typer.Option("", "--llava", help="Local llava-1.5-7b-hf folder: aligned and used to caption shards that have no captions (else $DALPSR_LLAVA).", show_default=False),
        ram_checkpoint: str = typer.Option("", "--ram-checkpoint", help="RAM .pth (tag lists beside it) whose tags go into the caption instruction (else $DALPSR_RAM_CHECKPOINT).", show_default=False),
        cpu: bool = typer.Option(False, "--cpu/--no-cpu", help="Train on the CPU even when an accelerator is present."),
        resume: str = typer.Option("", "--resume", help="'latest': the training stages that run continue from their newest checkpoints.", show_default=False),
        overwrite: bool = typer.Option(False, "--overwrite/--no-overwrite", help="Retrain the stages whose output in OUT is finished, replacing it (given folders and captions are kept)."),
        verbose: bool = typer.Option(False, "--verbose", help=VERBOSE_HELP),
    ) -> None:
        if ctx.invoked_subcommand is not None:
            return  # a stage was named: its own command does the work
        if shards is None and base is None:  # nothing to do: usage, and exit 2 as dalpsr-data does
            typer.echo(ctx.get_help(), err=True)
            raise typer.Exit(2)
        try:
            rc = RecipeConfig(shards=shards or "", base=base or "", out=out, pipeline=pipeline,
                              irpad=irpad, vision_tower=vision_tower, llava=llava,
                              ram_checkpoint=ram_checkpoint, cpu=cpu, resume=resume, overwrite=overwrite)
        except ConfigError as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(2) from e
        quiet_libraries(verbose)  # before any library is imported
        # the lazy boundary: --help and option errors answer without loading torch
        from dalpsr_model.recipe import plan_recipe, run_recipe, summary_table
        from dalpsr_model.recipe_outputs import StageFailed

        try:
            plan = plan_recipe(rc)  # every option of every stage checked before any work starts
        except ConfigError as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(2) from e
        try:
            with exit_on_signals(functools.partial(recipe_hint, rc.out)):
                summary = run_recipe(rc, plan)
        except ConfigError as e:  # a check a stage makes on its inputs before its own work
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(2) from e
        except StageFailed as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(1) from e
        typer.echo(summary_table(summary))
        typer.echo(f"recipe done: {rc.out}/recipe.json")
