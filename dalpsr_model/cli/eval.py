"""`dalpsr-eval`: options from :class:`EvalConfig`; the work is in dalpsr_model.eval.evaluate."""

from __future__ import annotations

import typer

from dalpsr_model.cli.options import make_stage_command
from dalpsr_model.eval.config import EvalConfig

DOC = ("Score SR images against HR references with the paper's metrics (LPIPS, FID, MANIQA, MUSIQ, "
       "CLIPIQA via pyiqa from --weights-dir, never downloaded) and PSNR/SSIM on Y (BasicSR).")

app = typer.Typer(name="dalpsr-eval", help=DOC, add_completion=False, pretty_exceptions_enable=False)


def run(cfg: EvalConfig) -> None:
    # the lazy boundary: --help and option errors answer without loading torch
    from dalpsr_model.eval.evaluate import evaluate
    from dalpsr_model.eval.report import ROWS

    result = evaluate(cfg, log=lambda s: typer.echo(s, err=True))
    if result["dropped_without_hr"]:
        typer.echo(f"no --hr: skipped {','.join(result['dropped_without_hr'])}", err=True)
    for key, reason in list(result["failed"].items())[:5]:
        typer.echo(f"failed {key}: {reason}", err=True)
    typer.echo(f"{result['dataset']}: {result['n_scored']}/{result['n_images']} images scored")
    for m in result["metrics"]:
        label, arrow, dec = ROWS[m]
        v = result["means"].get(m)
        typer.echo(f"  {label} {arrow} " + (f"{v:.{dec}f}" if isinstance(v, float) else str(v)))
    typer.echo("wrote " + ", ".join(result["files"]))


app.command("eval", help=DOC)(make_stage_command(EvalConfig, "eval", run, DOC))


if __name__ == "__main__":
    app()
