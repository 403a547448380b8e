"""`dalpsr-app --base SD21 --controlnet RUN --irpad RUN [--shards BUILD ...]`: the local web app.

The options are the fields of :class:`dalpsr_model.app.config.AppConfig`; the work is in
dalpsr_model.app.server, imported when the command runs (the lazy boundary: ``--help`` and
option errors answer without loading torch or gradio). A bad option, port, build or model
folder exits 2 before any model loads; Ctrl-C prints one line and exits 130.
"""

from __future__ import annotations

import typer

from dalpsr_model.app.config import AppConfig
from dalpsr_model.cli.options import make_stage_command

DOC = ("Serve a local web page (gradio) to super-resolve a photo with editable prompts (tab "
       "'Super-resolve') and to browse builds (tab 'Dataset', with --shards). Binds 127.0.0.1.")

app = typer.Typer(name="dalpsr-app", add_completion=False, pretty_exceptions_enable=False)


def run(cfg: AppConfig) -> None:
    from dalpsr_model.app.server import serve  # the lazy boundary

    serve(cfg)


app.command(help=DOC)(make_stage_command(AppConfig, "app", run, DOC))


if __name__ == "__main__":
    app()
