"""`dalpsr-data calibrate`: re-estimate the severity -> degree quantile table by Monte Carlo.

The table depends only on the degradation section of the preset (its sampling ranges and the
severity model); `describe()` refuses a table made for another config. Regenerate the shipped
table with ``--out dalpsr_data/degradation/calibration_v1.json``; for a custom preset write it
anywhere and set ``degradation.calibration_path`` in that preset.
"""

from __future__ import annotations

from dataclasses import dataclass

import typer

from dalpsr_data.cli_options import make_command
from dalpsr_data.config_io import ConfigError, load_config, opt

DOC = ("Estimate the quantiles of the blur, noise and JPEG severities and write the table.\n\n"
       "Settings: the degradation: section of pipelines/paper.yaml unless --pipeline names another preset.")


@dataclass(frozen=True)
class CalibrateConfig:
    """Options of `dalpsr-data calibrate` (the fields are the CLI options, generated)."""

    pipeline: str = opt("paper", "Preset name or yaml path whose `degradation:` section is calibrated.")
    samples: int = opt(50000, "Monte Carlo parameter draws (about 0.5 ms each); the shipped table used 50,000.")
    seed: int = opt(20240607, "Seed of the draws (use another one to test bin balance).")
    out: str = opt("calibration.json", "Where to write the JSON table (atomically).")

    def __post_init__(self) -> None:
        if self.samples < 100:
            raise ValueError(f"--samples must be >= 100, got {self.samples}")


def run(opts: CalibrateConfig) -> None:
    import time

    # the lazy boundary: --help and option errors answer without loading cv2
    from dalpsr_data.atomic import write_json_atomic
    from dalpsr_data.degradation import DegradationConfig
    from dalpsr_data.degradation.calibration import calibrate as run_calibration

    cfg = load_config(DegradationConfig, opts.pipeline, "degradation")
    t0 = time.perf_counter()
    table = run_calibration(cfg, opts.samples, opts.seed)
    table["pipeline"] = str(opts.pipeline)
    write_json_atomic(opts.out, table, indent=None)
    med = {t: round(q[len(q) // 2], 4) for t, q in table["quantiles"].items()}
    typer.echo(f"wrote {opts.out}: {opts.samples} draws in {time.perf_counter() - t0:.1f} s, "
               f"config hash {table['config_hash'][:12]}, median severities {med}")


def register(app: typer.Typer) -> None:
    # "calibrate" is no preset section: its own --pipeline field names the preset it reads.
    app.command(name="calibrate")(make_command(CalibrateConfig, "calibrate", run, DOC,
                                               errors=(((ConfigError,), 2),)))
