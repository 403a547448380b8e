"""`dalpsr-train`: IRPAD, LR->HR encoder alignment and the DaLPSR ControlNet.

One module per stage in this package, each exposing ``register(app)``; ``recipe.py``
registers the app callback that runs the paper's recipe when no stage is named.
"""

from __future__ import annotations

import typer

from dalpsr_model.cli import controlnet, encoder, irpad, recipe

app = typer.Typer(
    name="dalpsr-train",
    help="Train IRPAD, align the MLLM image encoder, and train the DaLPSR ControlNet from shards.",
    add_completion=False,
    pretty_exceptions_enable=False,
)

for _command in (recipe, irpad, encoder, controlnet):
    _command.register(app)


if __name__ == "__main__":
    app()
