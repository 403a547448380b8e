"""`dalpsr-train encoder`: options from :class:`EncoderConfig`; the work is in dalpsr_model.encoder_align.trainer."""

from __future__ import annotations

import typer

from dalpsr_data.buildinfo import BuildInfo
from dalpsr_model.cli.options import make_stage_command
from dalpsr_model.encoder_align.config import EncoderConfig

DOC = "Align LLaVA's vision tower: LR features match a frozen copy's HR features (MSE)."


def run(cfg: EncoderConfig) -> None:
    build = BuildInfo.open(cfg.shards, "--shards")  # a missing or unfinished build: one line, torch unloaded
    # the lazy boundary: --help and option errors answer without loading torch
    from dalpsr_model.encoder_align.trainer import train_encoder

    out = train_encoder(cfg, build)
    result = out["result"]
    if result.losses:
        typer.echo(f"MSE first {result.losses[0]:.5f} -> last {result.last_loss:.5f} over {len(result.losses)} steps")
    else:  # a finished run resumed: nothing trained now, its saved last loss
        typer.echo(f"step {result.step} reached before; last MSE {result.last_loss:.5f}")
    typer.echo(f"saved the aligned tower to {out['tower']} "
               f"(use: dalpsr-data caption --vision-tower {out['tower']})")


def register(app: typer.Typer) -> None:
    app.command("encoder")(make_stage_command(EncoderConfig, "encoder", run, DOC))
