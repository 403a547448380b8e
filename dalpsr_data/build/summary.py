"""The final summary table of a build (rich), printed by the CLI after run_build."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from dalpsr_data import schema


def print_summary(report: dict[str, Any], out_dir: str, console: Console | None = None) -> None:
    console = console or Console()
    t = Table(title=f"dalpsr-data build: {out_dir}")
    for col in ("source", "files", "built", "skipped", "patches", "patch skips"):
        t.add_column(col, justify="right" if col != "source" else "left")
    for src, c in sorted(report["per_source"].items()):
        t.add_row(src, str(c["files_listed"]), str(c["files_built"]), str(c["files_skipped"]),
                  str(c["patches_built"]), str(c["patches_skipped"]))
    f, p = report["files"], report["patches"]
    t.add_row("[bold]total", str(f["listed"]), str(f["built"]), str(f["skipped"]), str(p["built"]),
              str(p["skipped"]))
    console.print(t)
    bins = Table(title="samples per degradation bin (0 = mildest)")
    bins.add_column("type")
    for b in range(schema.NUM_BINS):
        bins.add_column(f"bin {b}", justify="right")
    for typ in schema.DEGRADATION_TYPES:
        bins.add_row(typ, *[str(n) for n in report["bins"][typ]])
    console.print(bins)
    if report["skip_reasons"]:
        console.print("skipped files by reason: " + ", ".join(
            f"{k}={v}" for k, v in report["skip_reasons"].items()) + f" (details in {schema.REPORT_JSON})")
    console.print(f"{report['patches_this_run']} patches in {report['wall_seconds']:.1f} s "
                  f"({report['patches_per_second']:.2f} patches/s this run, "
                  f"{report['worker_seconds_per_patch'] * 1000:.0f} ms per patch in the worker)")
