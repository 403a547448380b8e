"""`dalpsr-data build`: source photos -> sharded (HR, LR, prompt) triplets. See docs/build.md."""

from __future__ import annotations

from typing import Optional

import typer

from dalpsr_data.build import BuildFailed, load_build_configs, run_build
from dalpsr_data.build.config import BuildConfig
from dalpsr_data.build.summary import print_summary
from dalpsr_data.cli_options import given, shown_default
from dalpsr_data.config_io import ConfigError
from dalpsr_data.interrupt import RESUME, exit_on_signals
from dalpsr_data.patches import PatchConfig
from dalpsr_data.sources import SourceLayoutError


def register(app: typer.Typer) -> None:
    app.command(name="build")(build)


def build(
    ctx: typer.Context,
    sources: str = typer.Option(..., "--sources", help="Comma-separated sources: div2k, div8k, flickr2k, ost, ffhq, samples, name=PATH or folder=PATH."),
    data_root: str = typer.Option("data", "--data-root", help="Folder holding the official datasets (DIV2K/, DIV8K/, Flickr2K/, OST/, FFHQ/).", show_default=True),
    out: str = typer.Option("shards", "--out", help="Output folder for shards, index.json, report.json and build.json.", show_default=True),
    seed: int = typer.Option(shown_default(BuildConfig, "build", "seed"), "--seed", help="Build seed: every crop and degradation is drawn from (seed, key).", show_default=True),
    workers: int = typer.Option(0, "--workers", help="Shards processed at once (Ray CPUs when embedded); 0 = all CPUs.", show_default=True),
    address: Optional[str] = typer.Option(None, "--address", help="Address of an existing Ray cluster; without it Ray starts embedded.", show_default=False),
    connect_timeout: float = typer.Option(15.0, "--connect-timeout", help="Seconds to wait for the Ray cluster at --address before giving up.", show_default=True),
    shard_size: int = typer.Option(shown_default(BuildConfig, "build", "shard_size"), "--shard-size", help="Patches per shard.", show_default=True),
    limit: Optional[int] = typer.Option(None, "--limit", help="Use at most N files of each source (the first in sorted order); not given: all files.", show_default=False),
    per_image: int = typer.Option(shown_default(PatchConfig, "patches", "per_image"), "--patches-per-image", help="Patches cropped from every image (at most one per distinct crop position: one for a photo smaller than the patch).", show_default=True),
    repeat_crops: bool = typer.Option(False, "--repeat-crops", help="Let a small photo repeat its crops up to --patches-per-image, each with its own degradation (degradation-estimation training on few small photos).", show_default=False),
    pipeline: str = typer.Option("paper", "--pipeline", help="Preset name (pipelines/NAME.yaml) or a yaml path; its build:, patches: and degradation: sections set every option not given here. The defaults shown are paper's.", show_default=True),
    overwrite: bool = typer.Option(False, "--overwrite", help="Delete the previous build in --out and start from scratch.", show_default=False),
    strict: bool = typer.Option(False, "--strict", help="Fail (exit 1, no index.json) when any file is skipped.", show_default=False),
    executor: str = typer.Option("ray", "--executor", help="ray (default; embedded or --address) or local (one process, for debugging).", show_default=True),
    max_retries: int = typer.Option(shown_default(BuildConfig, "build", "max_retries"), "--max-retries", help="Retries of a failing shard.", show_default=True),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show the live progress bar.", show_default=True),
) -> None:
    """Build resumable, byte-deterministic WebDataset shards of (HR, LR, prompt) triplets.

    Settings: pipelines/paper.yaml's build:, patches: and degradation: sections apply unless
    --pipeline names another preset; options given here override them.
    """
    from rich.console import Console


    err = Console(stderr=True, soft_wrap=True)
    # The shown defaults are paper's: only values given here override the preset.
    seed, shard_size, per_image, max_retries = (
        v if given(ctx, k) else None for k, v in (("seed", seed), ("shard_size", shard_size),
                                                  ("per_image", per_image), ("max_retries", max_retries)))
    overrides = {"sources": tuple(s for s in sources.split(",") if s.strip()), "data_root": data_root,
                 "out": out, "seed": seed, "workers": workers, "address": address,
                 "connect_timeout": connect_timeout,
                 "shard_size": shard_size, "limit": limit, "overwrite": overwrite, "strict": strict,
                 "executor": executor, "max_retries": max_retries}
    try:
        with exit_on_signals(RESUME):  # committed shards are kept: a rerun resumes
            cfg, patch_cfg, deg_cfg = load_build_configs(pipeline, overrides, {
                "per_image": per_image, "repeat_crops": repeat_crops or None})
            result = run_build(cfg, patch_cfg, deg_cfg, progress=progress)
    except (ConfigError, SourceLayoutError) as e:
        err.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from None
    except OSError as e:
        err.print(f"[red]error:[/red] {os_error_message(e, out)}")
        raise typer.Exit(1) from None
    except BuildFailed as e:
        print_summary(e.result.report, str(e.result.out_dir), err)
        err.print(f"[red]build failed:[/red] {e}")
        raise typer.Exit(1) from None
    print_summary(result.report, str(result.out_dir))
    if result.resumed:
        Console().print(f"resumed: {len(result.resumed)} shard(s) were already committed")
    Console().print(f"output: {result.out_dir} (index.json, report.json)")


def os_error_message(e: OSError, out: str) -> str:
    """One line for an OSError out of a build. Only a failure of the output folder (disk
    full, unmounted) is fixed by a rerun, which resumes: nothing there is half-visible."""
    from pathlib import Path

    names = [n for n in (e.filename, e.filename2) if n]
    out_dir = Path(out).resolve()
    if names and not any(Path(str(n)).resolve().is_relative_to(out_dir) for n in names):
        return str(e)  # about some other file (a source): a rerun would fail the same way
    # a write error carries no file name; the driver only writes into the output folder
    return (f"output folder {out}: {e}; once the folder is usable again, rerun the same "
            f"command to resume")
