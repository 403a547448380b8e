"""`dalpsr-models tiny OUT` and `dalpsr-models check PATH`: parse and call.

The work is in dalpsr_model.models (kit.py writes the tiny kit, check.py inspects a model
folder or file).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from dalpsr_model.models.report import KINDS

DOC = ("Model folders: write a tiny random-weight kit for smoke tests (`tiny`), or check a real "
       "download before a long job (`check`).")

app = typer.Typer(name="dalpsr-models", help=DOC, add_completion=False, pretty_exceptions_enable=False,
                  no_args_is_help=True)


@app.command("tiny")
def tiny(
    out: Path = typer.Argument(..., help="New or empty folder (or a previous kit, replaced): OUT/sd21-base, "
                                         "OUT/llava-1.5-7b-hf, OUT/ram, OUT/README.txt."),
    seed: int = typer.Option(0, "--seed", help="Seed of the random weights (same seed, same bytes)."),
) -> None:
    """Write tiny random-weight SD 2.1-base, LLaVA-1.5 and RAM models in the official layouts."""
    # the lazy boundary: --help and option errors answer without loading torch
    from dalpsr_model.models.kit import KitError, kit_paths, write_tiny_kit

    try:
        write_tiny_kit(out, seed)
    except KitError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from e
    paths = kit_paths(out)
    typer.echo(f"wrote the tiny kit (random weights, smoke tests only) in {out}:\n"
               f"  --base {paths['base']}\n  --llava {paths['llava']}\n  --ram-checkpoint {paths['ram']}")


@app.command("check")
def check(
    path: Path = typer.Argument(..., help="A model folder (SD 2.1-base diffusers, llava-hf) or a RAM .pth, "
                                          "or a tiny kit's root (every model in it)."),
    kind: Optional[str] = typer.Option(None, "--kind", help=f"One of {', '.join(KINDS)} (default: guessed "
                                                             "from the files).", show_default=False),
) -> None:
    """Check a model the way each command will load it; exit 0 when it will load, 1 otherwise."""
    if kind is not None and kind not in KINDS:
        typer.echo(f"error: --kind must be one of {', '.join(KINDS)}, got {kind!r}", err=True)
        raise typer.Exit(2)
    from dalpsr_model.models.check import check_path, format_report  # loads torch: only now

    reports = check_path(path, kind)
    typer.echo(format_report(reports))
    problems = [p for r in reports for p in r.problems]
    for line in problems:
        typer.echo(f"error: {line}", err=True)
    raise typer.Exit(1 if problems else 0)


if __name__ == "__main__":
    app()
