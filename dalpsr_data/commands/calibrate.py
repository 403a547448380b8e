"""`dalpsr-data calibrate`: re-estimate the severity -> degree quantile table by Monte Carlo.

The table depends only on the degradation section of the preset (its sampling ranges and the
severity model); `describe()` refuses a table made for another config. Regenerate the shipped
table with ``--out dalpsr_data/degradation/calibration_v1.json``; for a custom preset write it
anywhere and set ``degradation.calibration_path`` in that preset.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import typer

from dalpsr_data.atomic import write_json_atomic
from dalpsr_data.config_io import ConfigError, from_dict, load_config
from dalpsr_data.degradation import DegradationConfig
from dalpsr_data.degradation.calibration import calibrate as run_calibration


@dataclass(frozen=True)
class CalibrateConfig:
    """Options of `dalpsr-data calibrate` (the fields are the CLI options)."""

    pipeline: Optional[str] = "paper"
    samples: int = 50000  # what the shipped calibration_v1.json was made with
    seed: int = 20240607
    out: str = "calibration.json"

    def __post_init__(self) -> None:
        if self.samples < 100:
            raise ValueError(f"--samples must be >= 100, got {self.samples}")


def register(app: typer.Typer) -> None:
    app.command(name="calibrate")(calibrate)


def calibrate(
    pipeline: str = typer.Option("paper", "--pipeline", help="Preset name or yaml path whose `degradation:` section is calibrated.", show_default=True),
    samples: int = typer.Option(50000, "--samples", help="Monte Carlo parameter draws (about 0.5 ms each).", show_default=True),
    seed: int = typer.Option(20240607, "--seed", help="Seed of the draws (use another one to test bin balance).", show_default=True),
    out: str = typer.Option("calibration.json", "--out", help="Where to write the JSON table (atomically).", show_default=True),
) -> None:
    """Estimate the quantiles of the blur, noise and JPEG severities and write the table.

    Settings: the degradation: section of pipelines/paper.yaml unless --pipeline names another preset.
    """
    import time

    from rich.console import Console


    err = Console(stderr=True)
    try:
        opts = from_dict(CalibrateConfig, dict(pipeline=pipeline, samples=samples, seed=seed, out=out))
        cfg = load_config(DegradationConfig, opts.pipeline, "degradation")
    except ConfigError as e:
        err.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from None
    t0 = time.perf_counter()
    table = run_calibration(cfg, opts.samples, opts.seed)
    table["pipeline"] = str(opts.pipeline)
    write_json_atomic(opts.out, table, indent=None)
    med = {t: round(q[len(q) // 2], 4) for t, q in table["quantiles"].items()}
    typer.echo(f"wrote {opts.out}: {opts.samples} draws in {time.perf_counter() - t0:.1f} s, "
               f"config hash {table['config_hash'][:12]}, median severities {med}")
