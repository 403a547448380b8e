"""The final summary table of a build (rich), printed by the CLI after run_build."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from dalpsr_data import schema


def print_summary(report: dict[str, Any], out_dir: str, console: Console | None = None) -> None:
    console = console or Console()
    t = Table(title=f"dalpsr-data build: {out_dir}")
    # "padded": photos smaller than the patch (reflect-padded); such a photo gives one patch
    # per distinct crop position, so fewer than --patches-per-image ("not made")
    for col in ("source", "files", "built", "skipped", "padded", "patches", "patch skips", "not made"):
        t.add_column(col, justify="right" if col != "source" else "left")
    for src, c in sorted(report["per_source"].items()):
        t.add_row(src, str(c["files_listed"]), str(c["files_built"]), str(c["files_skipped"]),
                  str(c.get("files_padded", 0)), str(c["patches_built"]), str(c["patches_skipped"]),
                  str(c.get("patches_not_distinct", 0)))
    f, p = report["files"], report["patches"]
    t.add_row("[bold]total", str(f["listed"]), str(f["built"]), str(f["skipped"]),
              str(f.get("padded", 0)), str(p["built"]), str(p["skipped"]), str(p.get("not_distinct", 0)))
    console.print(t)
    if p.get("not_distinct"):
        console.print(f"not made: {p['not_distinct']} patch(es) of photos with fewer distinct "
                      f"crop positions than --patches-per-image (padded or patch-sized photos; "
                      f"--repeat-crops makes them anyway)")
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
    work = report.get("work_seconds", report["wall_seconds"])
    if report["patches_this_run"] == 0:  # no rate to speak of
        if report.get("shards_resumed"):  # a rerun of a finished build; not a first run's failure
            console.print(f"nothing left to build ({report['wall_seconds']:.1f} s): "
                          f"the totals above are the committed build's")
        return
    console.print(f"{report['patches_this_run']} patches built in {report['wall_seconds']:.1f} s; "
                  f"shards ran {work:.1f} s at {report['patches_per_second']:.2f} planned patches/s "
                  f"(the progress bar's rate; "
                  f"{report['worker_seconds_per_patch'] * 1000:.0f} ms per patch in the worker)")
