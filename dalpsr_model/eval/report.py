"""Outputs of `dalpsr-eval`: metrics.json, metrics.csv, metrics.md (Table I layout), sheet.png.

Every file is written to a temporary name and renamed (dalpsr_data.atomic), so a reader
never sees half a table. ``metrics.json`` carries ``"tool": "dalpsr-eval"``: a later run
may replace the outputs of an earlier one (with other settings only under --overwrite),
never files someone else put there.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from pathlib import Path
from typing import Any

from dalpsr_data.atomic import write_bytes_atomic, write_json_atomic
from dalpsr_data.config_io import ConfigError, changed_options

TOOL = "dalpsr-eval"
OUTPUT_FILES = ("metrics.json", "metrics.csv", "metrics.md", "sheet.png")

# Row label, arrow and decimals as printed in Table I; PSNR/SSIM (not in the paper) last.
ROWS = {"lpips": ("LPIPS", "↓", 4), "fid": ("FID", "↓", 2), "maniqa": ("MANIQA", "↑", 4),
        "musiq": ("MUSIQ", "↑", 2), "clipiqa": ("CLIPIQA", "↑", 4), "psnr": ("PSNR", "↑", 2),
        "ssim": ("SSIM", "↑", 4)}

# The paper's "Ours" column of Table I, for reference next to a run on the same set.
PAPER_OURS = {
    "DIV2K-Val": {"lpips": 0.4085, "fid": 34.92, "maniqa": 0.6146, "musiq": 70.70, "clipiqa": 0.7556},
    "RealSR": {"lpips": 0.3952, "fid": 148.65, "maniqa": 0.6303, "musiq": 71.48, "clipiqa": 0.7199},
    "DRealSR": {"lpips": 0.4048, "fid": 164.66, "maniqa": 0.5733, "musiq": 65.88, "clipiqa": 0.7245},
    "RealLR200": {"maniqa": 0.6339, "musiq": 72.78, "clipiqa": 0.7728},
}
GENERIC_FOLDERS = {"hr", "lr", "sr", "gt", "lq", "testhr", "testlr", "results", "output", "out"}


def dataset_name(folder: Path) -> str:
    """A folder's name, or its parent's when the name is generic (``test_HR``, ``gt``...)."""
    folder = folder.resolve()
    if re.sub(r"[^a-z0-9]", "", folder.name.lower()) in GENERIC_FOLDERS and folder.parent.name:
        return folder.parent.name
    return folder.name


def paper_set(name: str) -> str | None:
    """The Table I row group a dataset name refers to, if any (``benchmark_drealsr`` -> DRealSR)."""
    n = re.sub(r"[^a-z0-9]", "", name.lower())
    for needle, label in (("drealsr", "DRealSR"), ("reallr200", "RealLR200"), ("realsr", "RealSR"),
                          ("div2k", "DIV2K-Val")):
        if needle in n:
            return label
    return None


RUNTIME_ONLY = ("out", "device", "fid_batch_size", "overwrite")  # they change no number


def _earlier_run(out: Path) -> dict[str, Any] | None:
    """The metrics.json an earlier dalpsr-eval wrote in ``out`` (None: there is none)."""
    try:
        old = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return old if isinstance(old, dict) and old.get("tool") == TOOL else None


def check_out_dir(out: Path, config: dict[str, Any], overwrite: bool) -> None:
    """The rule of every output folder (as dalpsr-sr's and the build's): ``out`` is new or
    empty, or holds an earlier dalpsr-eval run. A folder with files dalpsr-eval did not
    write is refused, and so is an earlier run made with other settings (``config``: this
    run's EvalConfig as a dict) unless ``overwrite``; hidden files (our lock) are ignored."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} exists and is not a folder")
    if not out.is_dir():
        return
    old = _earlier_run(out)
    if old is None:
        present = [n for n in OUTPUT_FILES if (out / n).exists()]
        if present:
            raise ConfigError(f"--out {out} already holds {', '.join(present)} not written by {TOOL}; "
                              "choose an empty or new --out")
        foreign = [p.name for p in sorted(out.iterdir()) if not p.name.startswith(".")]
        if foreign:
            shown = ", ".join(foreign[:4]) + (", ..." if len(foreign) > 4 else "")
            raise ConfigError(f"--out {out} holds {len(foreign)} file(s) not written by {TOOL} ({shown}): "
                              "choose an empty or new --out (--overwrite only replaces an earlier evaluation)")
        return
    changed = changed_options(old.get("config", {}), config, RUNTIME_ONLY)
    if changed and not overwrite:
        raise ConfigError(f"--out {out} holds an evaluation made with other settings ({'; '.join(changed[:4])}): "
                          "add --overwrite to replace it, or choose another --out")


def _fmt(value: float | None, decimals: int) -> str:
    if value is None:
        return "–"
    return "inf" if math.isinf(value) else f"{value:.{decimals}f}"


def markdown_table(dataset: str, method: str, means: dict[str, float], metrics: list[str]) -> str:
    """Table I layout: one row per metric under the dataset name, one column per method."""
    ref = PAPER_OURS.get(paper_set(dataset) or "", {})
    cols = [method] + (["DaLPSR paper (Table I, Ours)"] if ref else [])
    lines = ["| Datasets | Metrics | " + " | ".join(cols) + " |", "|---|---|" + "---|" * len(cols)]
    for i, m in enumerate(metrics):
        label, arrow, dec = ROWS[m]
        cells = [_fmt(means.get(m), dec)] + ([_fmt(ref.get(m), dec)] if ref else [])
        lines.append(f"| {dataset if i == 0 else ''} | {label} {arrow} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def metrics_csv(per_image: dict[str, dict[str, float]], means: dict[str, float], metrics: list[str]) -> str:
    """One row per scored image, then a ``mean`` row (FID, a set-level value, only there)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["key"] + metrics)
    for key, row in per_image.items():
        w.writerow([key] + [repr(row[m]) if m in row else "" for m in metrics])
    w.writerow(["mean"] + [repr(means[m]) if m in means else "" for m in metrics])
    return buf.getvalue()


def write_outputs(out: Path, result: dict[str, Any], means: dict[str, float],
                  per_image: dict[str, dict[str, float]], sheet_png: bytes | None) -> list[Path]:
    """Write every output atomically; metrics.json (``result``, JSON-safe) last, so that its
    presence means the rest is complete. ``means``/``per_image`` are the raw floats."""
    out.mkdir(parents=True, exist_ok=True)
    metrics = result["metrics"]
    written = [out / "metrics.csv", out / "metrics.md"]
    write_bytes_atomic(written[0], metrics_csv(per_image, means, metrics).encode("utf-8"))
    write_bytes_atomic(written[1], markdown_table(result["dataset"], result["method"], means, metrics).encode("utf-8"))
    if sheet_png is not None:
        write_bytes_atomic(out / "sheet.png", sheet_png)
        written.append(out / "sheet.png")
    else:  # an earlier run's sheet (check_out_dir made sure the folder is ours) would mislead
        (out / "sheet.png").unlink(missing_ok=True)
    write_json_atomic(out / "metrics.json", {"tool": TOOL, **result})
    return written + [out / "metrics.json"]
