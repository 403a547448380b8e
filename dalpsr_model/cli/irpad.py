"""`dalpsr-train irpad`: options from :class:`IrpadConfig`; the work is in dalpsr_model.irpad.trainer."""

from __future__ import annotations

import typer

from dalpsr_data.buildinfo import BuildInfo
from dalpsr_model.cli.options import make_stage_command
from dalpsr_model.irpad.config import IrpadConfig

DOC = "Train IRPAD (degradation prompts retrieved from LR image features) and report held-out per-type accuracy."


def run(cfg: IrpadConfig) -> None:
    build = BuildInfo.open(cfg.shards, "--shards")  # a missing or unfinished build: one line, torch unloaded
    # the lazy boundary: --help and option errors answer without loading torch
    from dalpsr_model.irpad.trainer import train_irpad

    out = train_irpad(cfg, build)
    m = out["eval"]
    typer.echo(f"held-out samples: {m['n']}; accuracy " +
               ", ".join(f"{k} {v:.3f}" for k, v in m["accuracy"].items()))
    for k, rows in m["confusion"].items():
        typer.echo(f"confusion {k} (rows true bin, cols predicted): {rows}")
    bad = m["corrupt_samples"]
    if bad["train_skips"] or bad["held_out"]:  # each one is also a warning line above
        typer.echo(f"corrupt samples skipped: {bad['train_skips']} in training (over all epochs), "
                   f"{bad['held_out']} held out (see eval.json)")
    typer.echo(f"saved {cfg.out}/irpad.safetensors, irpad.json, eval.json")


def register(app: typer.Typer) -> None:
    app.command("irpad")(make_stage_command(IrpadConfig, "irpad", run, DOC))
