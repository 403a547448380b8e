"""Severity -> degree: the severity's quantile under the configured sampling distribution.

``calibrate(cfg, samples, seed)`` draws parameter sets with ``sample_params``, computes their
severities analytically and stores ``QUANTILES`` + 1 quantiles per type. ``degree`` is the
piecewise-linear CDF through them, so each of the 4 bins holds about 25% of the samples.
A table records the sampling hash of the config it was made for; using it with another
config fails (``CalibrationMismatch``) instead of silently producing skewed bins.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from dalpsr_data.config_io import ConfigError
from dalpsr_data.schema import DEGRADATION_TYPES, NUM_BINS
from dalpsr_data.degradation.config import DegradationConfig, sampling_hash
from dalpsr_data.degradation.sampling import sample_params
from dalpsr_data.degradation.severity import severities
from dalpsr_data.seeding import rng_for

TYPES = DEGRADATION_TYPES  # the name this module's callers use; defined in dalpsr_data.schema
QUANTILES = 1000
VERSION = "v1"
PACKAGED_TABLE = Path(__file__).with_name("calibration_v1.json")


class CalibrationMismatch(ConfigError):
    """The calibration table was made for another degradation config."""


def draw_severities(cfg: DegradationConfig, samples: int, seed: int) -> dict[str, np.ndarray]:
    """Severities of ``samples`` parameter sets drawn with rng_for(seed, "calib-<i>", "degradation")."""
    out = {t: np.empty(samples) for t in TYPES}
    for i in range(samples):
        sev = severities(sample_params(rng_for(seed, f"calib-{i}", "degradation"), cfg), cfg)
        for t in TYPES:
            out[t][i] = sev[t]
    return out


def calibrate(cfg: DegradationConfig, samples: int = 50000, seed: int = 20240607) -> dict[str, Any]:
    """A JSON-able calibration table for ``cfg``."""
    if samples < 100:
        raise ConfigError(f"--samples must be >= 100 for a usable table, got {samples}")
    sev = draw_severities(cfg, samples, seed)
    probs = np.linspace(0.0, 1.0, QUANTILES + 1)
    return {
        "version": VERSION,
        "config_hash": sampling_hash(cfg),
        "samples": int(samples),
        "seed": int(seed),
        "quantiles": {t: [float(v) for v in np.quantile(sev[t], probs)] for t in TYPES},
    }


@lru_cache(maxsize=8)
def _read(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        table = json.load(f)
    if not isinstance(table, dict) or set(table.get("quantiles", {})) != set(TYPES):
        raise ConfigError(f"{path}: not a calibration table (run `dalpsr-data calibrate`)")
    return table


def load_table(cfg: DegradationConfig) -> dict[str, Any]:
    """The table for ``cfg`` (cfg.calibration_path or the packaged one), checked against its hash."""
    path = Path(cfg.calibration_path) if cfg.calibration_path else PACKAGED_TABLE
    if not path.is_file():
        raise ConfigError(f"calibration table {path} not found: run "
                          f"`dalpsr-data calibrate --pipeline <preset> --out {path}`")
    table = _read(str(path.resolve()))
    want = sampling_hash(cfg)
    if table["config_hash"] != want:
        raise CalibrationMismatch(
            f"calibration table {path} was made for another degradation config (hash "
            f"{table['config_hash'][:12]}, this config {want[:12]}): run `dalpsr-data calibrate "
            f"--pipeline <preset> --out FILE` and set degradation.calibration_path: FILE in the preset")
    return table


def table_version(table: Mapping[str, Any]) -> str:
    """E.g. 'v1-3fa2b9c01d2e': version plus the config hash prefix."""
    return f"{table['version']}-{table['config_hash'][:12]}"


def degrees(sev: Mapping[str, float], table: Mapping[str, Any]) -> dict[str, float]:
    """Severity -> degree in [0, 1] per type (empirical CDF, linear between quantiles)."""
    probs = np.linspace(0.0, 1.0, len(table["quantiles"]["blur"]))
    out = {}
    for t in TYPES:
        q = np.asarray(table["quantiles"][t])
        # np.interp needs increasing x; ties (flat CDF parts) map to their mean probability
        xs, inv = np.unique(q, return_inverse=True)
        ps = np.bincount(inv, weights=probs) / np.bincount(inv)
        out[t] = float(np.clip(np.interp(sev[t], xs, ps), 0.0, 1.0))
    return out


def bins(deg: Mapping[str, float]) -> dict[str, int]:
    """Degree -> bin b with degree in [b/NUM_BINS, (b+1)/NUM_BINS) (1.0 falls into the last bin)."""
    return {t: int(min(NUM_BINS - 1, int(np.floor(deg[t] * NUM_BINS)))) for t in TYPES}
