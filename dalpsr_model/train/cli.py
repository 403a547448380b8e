"""`dalpsr-train`: IRPAD, LR->HR encoder alignment and the DaLPSR ControlNet.

Each stage lives in ``dalpsr_model/train/commands/<name>.py`` and exposes ``register(app)``;
``recipe.py`` registers the app callback that runs the paper's recipe when no stage is named.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="dalpsr-train",
    help="Train IRPAD, align the MLLM image encoder, and train the DaLPSR ControlNet from shards.",
    add_completion=False,
    pretty_exceptions_enable=False,
)

COMMAND_MODULES = ("recipe", "irpad", "encoder", "controlnet")

for _name in COMMAND_MODULES:
    importlib.import_module(f"dalpsr_model.train.commands.{_name}").register(app)


if __name__ == "__main__":
    app()
