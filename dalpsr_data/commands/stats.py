"""`dalpsr-data stats DIR`: sample counts and the bin distribution per degradation type."""

from __future__ import annotations

from typing import Optional

import typer

from dalpsr_data import schema
from dalpsr_data.config_io import ConfigError


def register(app: typer.Typer) -> None:
    app.command(name="stats")(stats)


def stats(
    root: str = typer.Argument(..., help="A build folder (holding build.json)."),
    plot: Optional[str] = typer.Option(None, "--plot", help="Write degree histograms to this PNG file.", show_default=False),
    as_json: bool = typer.Option(False, "--json", help="Print the counts as one JSON object instead of tables.", show_default=False),
) -> None:
    """Print counts per source and the samples per bin of each degradation type."""
    import json

    from rich.console import Console
    from rich.table import Table

    # the lazy boundary: --help answers without loading numpy
    from dalpsr_data.build.inspect import (StatsConfig, check_output_file, collect_stats, degree_values,
                                           plot_stats)

    cfg = StatsConfig(root=root, plot=plot, as_json=as_json)
    err = Console(stderr=True, soft_wrap=True)
    try:
        if cfg.plot:
            check_output_file(cfg.plot, "--plot")
        st = collect_stats(cfg.root)
        if cfg.plot:
            plot_stats(st, degree_values(cfg.root), cfg.plot)
    except (ConfigError, schema.ShardFormatError) as e:
        err.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from None
    except OSError as e:  # the folder failed after the check (disk full, unmounted)
        err.print(f"[red]error:[/red] --plot {cfg.plot}: {e.strerror or e}")
        raise typer.Exit(1) from None
    if cfg.as_json:
        typer.echo(json.dumps(st, sort_keys=True))
        return
    console = Console()
    console.print(f"{root}: {st['samples']} samples in {st['shards']} committed shard(s), "
                  f"{st['skipped_patches']} patches skipped"
                  + ("" if st["finished"] else " [yellow](build unfinished)[/yellow]"))
    # a table, not "<source>: N samples": the built-in source is called "samples" itself
    sources = Table(title="samples per source")
    sources.add_column("source")
    sources.add_column("samples", justify="right")
    for src, n in st["per_source"].items():
        sources.add_row(src, str(n))
    console.print(sources)
    if st["skipped_files_by_reason"]:
        console.print("skipped files: " + ", ".join(f"{k}={v}" for k, v in st["skipped_files_by_reason"].items()))
    table = Table(title="samples per bin (0 = mildest)")
    table.add_column("type")
    for b in range(schema.NUM_BINS):
        table.add_column(f"bin {b}", justify="right")
    for t in schema.DEGRADATION_TYPES:
        total = max(1, sum(st["bins"][t]))
        table.add_row(t, *[f"{n} ({100 * n / total:.0f}%)" for n in st["bins"][t]])
    console.print(table)
    if plot:
        console.print(f"histograms: {plot}")
