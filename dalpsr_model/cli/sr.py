"""`dalpsr-sr INPUT... --out DIR --base SD21 --controlnet DIR --irpad DIR`: super-resolve LR images.

The options are the fields of :class:`dalpsr_model.sr.config.SRConfig` (INPUT is its
``inputs`` field); the work is in dalpsr_model.sr.runner. A bad option, input or model
folder exits 2 before any work; with --strict a bad image exits 1, and so does a run in
which every input failed.
"""

from __future__ import annotations

import typer

from dalpsr_model.cli.options import make_stage_command
from dalpsr_model.diffusion.base import check_base_folder
from dalpsr_model.sr.config import SRConfig
from dalpsr_model.sr.inputs import collect_inputs

DOC = ("Super-resolve LR images x4 with a trained DaLPSR ControlNet: IRPAD restoration prompt + "
       "RAM/LLaVA caption (pass 1), then SD 2.1-base + ControlNet from the noised LR latent (pass 2).")

app = typer.Typer(name="dalpsr-sr", add_completion=False, pretty_exceptions_enable=False)


def run(cfg: SRConfig) -> None:
    # The most common path errors (a mistyped INPUT or --base) in one line before torch loads;
    # run_sr takes the listed inputs and checks --base again with every other model folder.
    items = collect_inputs(cfg.inputs)
    check_base_folder(cfg.base)
    # the lazy boundary: --help and option errors answer without loading torch
    from dalpsr_model.sr.prompts import StrictInputError
    from dalpsr_model.sr.runner import run_sr

    try:
        summary = run_sr(cfg, items=items)
    except StrictInputError as e:  # --strict: a bad input stops the run
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from e
    typer.echo(f"sr: {summary['written']} written, {summary['skipped_existing']} already done, "
               f"{summary['failed']} failed (see {cfg.out}/report.json), {summary['seconds']:.1f} s")
    if summary["failed"] and not summary["written"] and not summary["skipped_existing"]:
        # nothing came out: a script or CI step must not take this for a success
        typer.echo(f"error: no image was super-resolved: {summary['failed']} input(s) failed "
                   f"(reasons in {cfg.out}/report.json)", err=True)
        raise typer.Exit(1)


app.command(help=DOC)(make_stage_command(SRConfig, "sr", run, DOC, arguments=("inputs",)))


if __name__ == "__main__":
    app()
