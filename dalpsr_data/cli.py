"""`dalpsr-data`: build, inspect and caption the DaLPSR triplet dataset.

Each sub-command lives in ``dalpsr_data/commands/<name>.py`` and exposes ``register(app)``.
Heavy imports (torch, ray, cv2) happen inside the command bodies so ``--help`` stays fast.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="dalpsr-data",
    help="Build, inspect and caption DaLPSR (HR, LR, restoration prompt) WebDataset shards.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

COMMAND_MODULES = ("build", "stats", "preview", "calibrate", "caption", "convert_ram")

for _name in COMMAND_MODULES:
    importlib.import_module(f"dalpsr_data.commands.{_name}").register(app)


if __name__ == "__main__":
    app()
