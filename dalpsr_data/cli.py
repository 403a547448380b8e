"""`dalpsr-data`: build, inspect and caption the DaLPSR triplet dataset.

Each sub-command lives in ``dalpsr_data/commands/<name>.py`` and exposes ``register(app)``;
they are imported explicitly here. Commands only parse options and call the library.
"""

from __future__ import annotations

import typer

from dalpsr_data.commands import build, calibrate, caption, convert_ram, preview, stats

app = typer.Typer(
    name="dalpsr-data",
    help="Build, inspect and caption DaLPSR (HR, LR, restoration prompt) WebDataset shards.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for _command in (build, stats, preview, calibrate, caption, convert_ram):
    _command.register(app)


if __name__ == "__main__":
    app()
