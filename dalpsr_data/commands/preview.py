"""`dalpsr-data preview DIR`: a contact sheet of HR, LR (nearest-neighbour) and the prompt."""

from __future__ import annotations

import typer

from dalpsr_data import schema
from dalpsr_data.config_io import ConfigError


def register(app: typer.Typer) -> None:
    app.command(name="preview")(preview)


def preview(
    root: str = typer.Argument(..., help="A finished build folder (holding index.json)."),
    n: int = typer.Option(16, "--n", help="Number of samples to draw (the first in index order).", show_default=True),
    out: str = typer.Option("preview.png", "--out", help="Output PNG path.", show_default=True),
    tile: int = typer.Option(256, "--tile", help="Displayed size of each HR and LR image in pixels.", show_default=True),
) -> None:
    """Draw the first N samples: HR, LR upsampled with nearest neighbour, prompt underneath."""
    from rich.console import Console

    # the lazy boundary: --help answers without loading numpy and Pillow
    from dalpsr_data.atomic import atomic_open
    from dalpsr_data.build.inspect import PreviewConfig, check_output_file, contact_sheet

    err = Console(stderr=True, soft_wrap=True)
    try:
        cfg = PreviewConfig(root=root, n=n, out=out, tile=tile)
        check_output_file(cfg.out, "--out")
        sheet = contact_sheet(cfg)
    except (ConfigError, schema.ShardFormatError) as e:
        err.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from None
    try:
        with atomic_open(cfg.out, "wb") as f:
            sheet.save(f, format="PNG")
    except OSError as e:  # the folder failed after the check (disk full, unmounted)
        err.print(f"[red]error:[/red] --out {cfg.out}: {e.strerror or e}")
        raise typer.Exit(1) from None
    Console().print(f"preview: {cfg.out} ({sheet.width}x{sheet.height})")
