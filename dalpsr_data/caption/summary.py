"""The closing summary table of a caption run (rich), printed by the CLI after run_caption."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from dalpsr_data import schema


def print_summary(summary: dict[str, Any], build: str, console: Console | None = None) -> None:
    """``summary`` is run_caption's dict (also saved as captions/report.json)."""
    console = console or Console()
    t = Table(title=f"dalpsr-data caption: {build}")
    for col in ("shards", "skipped (done before)", "done", "failed", "samples", "captioned", "errors"):
        t.add_column(col, justify="right")
    t.add_row(str(summary["shards"]), str(summary["skipped"]), str(summary["done"]),
              str(len(summary["failed_shards"])), str(summary["samples"]), str(summary["ok"]),
              str(summary["errors"]))
    console.print(t)
    for name, why in sorted(summary["failed_shards"].items()):
        console.print(f"failed {name}: {why}")
    if summary["reasons"]:
        console.print("samples without a caption by reason: " + ", ".join(
            f"{k}={v}" for k, v in sorted(summary["reasons"].items())) +
            f" (details in {schema.CAPTIONS_DIR}/report.json)")
    console.print(f"{summary['samples']} images in {summary['seconds']:.1f} s "
                  f"({summary['images_per_s']:.2f} images/s this run)")
