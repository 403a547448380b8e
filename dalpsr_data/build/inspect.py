"""Read a build folder back: counts and bin distribution (stats) and a contact sheet (preview).

Counts come from the commit markers (cheap, valid mid-build); degree histograms and the
preview read the tars through BuildInfo.iter_samples (raw bytes, nothing unpickled).
"""

from __future__ import annotations

import json
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np

from dalpsr_data import schema
from dalpsr_data.atomic import TMP_PREFIX, atomic_open
from dalpsr_data.buildinfo import BuildInfo
from dalpsr_data.config_io import ConfigError

if TYPE_CHECKING:  # the annotation only; PIL is imported where the sheet is drawn
    from PIL import Image


@dataclass(frozen=True)
class StatsConfig:
    """Options of `dalpsr-data stats`."""

    root: str
    plot: str | None = None
    as_json: bool = False


@dataclass(frozen=True)
class PreviewConfig:
    """Options of `dalpsr-data preview`."""

    root: str
    n: int = 16
    out: str = "preview.png"
    tile: int = 256
    cols: int = 4

    def __post_init__(self) -> None:
        if self.n < 1 or self.tile < 16 or self.cols < 1:
            raise ConfigError(f"--n must be >= 1, --tile >= 16, cols >= 1 (got {self.n}, {self.tile}, {self.cols})")


def check_output_file(path: str | Path, option: str) -> None:
    """Refuse, before any work, an output file whose folder is missing or not writable.

    ConfigError names ``option`` (the command's own flag) and the folder; the folder is
    never created, so a typo in a path does not leave new folders behind.
    """
    target = Path(path)
    folder = target.parent
    if target.is_dir():
        raise ConfigError(f"{option} {path} is a folder: give a file path such as {target / 'out.png'}")
    if not folder.is_dir():
        raise ConfigError(f"{option} {path}: folder {folder} does not exist: create it or choose "
                          f"another {option}")
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=TMP_PREFIX):
            pass
    except OSError as e:
        raise ConfigError(f"{option} {path}: folder {folder} is not writable ({e.strerror or e}): "
                          f"choose another {option}") from None


def _plan_hash(root: Path) -> str:
    path = root / schema.BUILD_JSON
    if not path.is_file():
        raise ConfigError(f"{root} is not a build folder (no {schema.BUILD_JSON}): "
                          f"run `{schema.build_command(root)}` first")
    with open(path, encoding="utf-8") as f:
        return json.load(f)["plan_hash"]


def collect_stats(root: str | Path) -> dict[str, Any]:
    """{"shards", "samples", "skipped_patches", "per_source", "bins": {type: [n0..n3]},
    "skipped_files_by_reason", "finished"}."""
    root = Path(root)
    plan_hash = _plan_hash(root)
    bins = {t: [0] * schema.NUM_BINS for t in schema.DEGRADATION_TYPES}
    per_source: dict[str, int] = {}
    shards = samples = skipped = 0
    for marker_file in sorted(root.glob("shard-*.done.json")):
        with open(marker_file, encoding="utf-8") as f:
            m = json.load(f)
        if m.get("plan_hash") != plan_hash:
            continue
        shards += 1
        samples += m["nsamples"]
        skipped += len(m["skipped"])
        for t in schema.DEGRADATION_TYPES:
            bins[t] = [a + b for a, b in zip(bins[t], m["bins"][t])]
        for src, n in m["per_source"].items():
            per_source[src] = per_source.get(src, 0) + n
    reasons: dict[str, int] = {}
    if (root / schema.REPORT_JSON).is_file():  # per-file reasons are only known once reported
        with open(root / schema.REPORT_JSON, encoding="utf-8") as f:
            reasons = json.load(f).get("skip_reasons", {})
    return {"shards": shards, "samples": samples, "skipped_patches": skipped,
            "per_source": dict(sorted(per_source.items())), "bins": bins,
            "skipped_files_by_reason": reasons, "finished": (root / schema.INDEX_JSON).is_file()}


def iter_samples(root: str | Path) -> Iterator[tuple[str, dict[str, bytes]]]:
    """Samples of a finished build in index order: (key, raw members)."""
    for key, members, _ in BuildInfo.open(root).iter_samples(captions="ignore"):
        yield key, members


def degree_values(root: str | Path) -> dict[str, list[float]]:
    """Every sample's degree in [0, 1] per type (reads deg.json of every sample)."""
    out: dict[str, list[float]] = {t: [] for t in schema.DEGRADATION_TYPES}
    for _, members in iter_samples(root):
        deg = json.loads(members["deg.json"])
        for t in schema.DEGRADATION_TYPES:
            out[t].append(float(deg["degrees"][t]))
    return out


def plot_stats(stats: dict[str, Any], degrees: dict[str, list[float]], path: str | Path) -> None:
    """PNG with one histogram of degrees per type; bin edges at 0.25, 0.5, 0.75."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(schema.DEGRADATION_TYPES), figsize=(12, 3.2))
    for ax, t in zip(axes, schema.DEGRADATION_TYPES):
        ax.hist(degrees[t], bins=20, range=(0, 1), color="tab:blue")
        for edge in (0.25, 0.5, 0.75):
            ax.axvline(edge, color="k", lw=0.8, ls="--")
        ax.set_title(f"{t}: bins {stats['bins'][t]}")
        ax.set_xlabel("degree")
    axes[0].set_ylabel("samples")
    fig.tight_layout()
    try:
        with atomic_open(path, "wb") as f:  # a failed write leaves no half-written PNG
            fig.savefig(f, format="png", dpi=100)
    finally:
        plt.close(fig)


def contact_sheet(cfg: PreviewConfig) -> "Image.Image":
    """RGB contact sheet of the first ``cfg.n`` samples: HR (area-resized to ``tile``), LR
    (nearest-neighbour upsampled to ``tile``), and the key and prompt under each pair."""
    import cv2
    from PIL import Image, ImageDraw, ImageFont

    root, n, tile, cols = cfg.root, cfg.n, cfg.tile, cfg.cols

    samples = []
    for key, members in iter_samples(root):
        if len(samples) >= n:
            break
        hr = schema.decode_png_member(members["hr.png"])
        lr = schema.decode_png_member(members["lr.png"])
        hr = cv2.resize(hr, (tile, tile), interpolation=cv2.INTER_AREA)
        lr = cv2.resize(lr, (tile, tile), interpolation=cv2.INTER_NEAREST)
        samples.append((key, np.concatenate([hr, lr], axis=1), members["prompt.txt"].decode("utf-8")))
    if not samples:
        raise ConfigError(f"{root}: no samples to preview")
    text_h, pad = 64, 8
    cols = min(cols, len(samples))
    rows = (len(samples) + cols - 1) // cols
    cell_w, cell_h = 2 * tile + pad, tile + text_h + pad
    sheet = Image.new("RGB", (cols * cell_w + pad, rows * cell_h + pad), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=13)
    for i, (key, pair, prompt) in enumerate(samples):
        x, y = pad + (i % cols) * cell_w, pad + (i // cols) * cell_h
        sheet.paste(Image.fromarray(np.ascontiguousarray(pair)), (x, y))
        lines = [key] + textwrap.wrap(prompt, width=70)
        draw.multiline_text((x, y + tile + 4), "\n".join(lines[:4]), fill="black", font=font, spacing=2)
    return sheet
