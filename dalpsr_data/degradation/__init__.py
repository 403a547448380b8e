"""Real-ESRGAN second-order degradation with recognizable degrees and restoration prompts.

    params = sample_params(rng_for(seed, key, "degrade"), cfg)   # draws only
    hr, lr = apply(gt_uint8_512, params, cfg)                         # pure, byte-deterministic
    record = describe(params, cfg)                                    # -> <key>.deg.json
    record["prompt"] == restoration_prompt(record["bins"])
"""

from __future__ import annotations

from typing import Any, Mapping

from dalpsr_data.degradation.calibration import (
    CalibrationMismatch, bins as degree_bins, degrees as severity_degrees, load_table, table_version)
from dalpsr_data.degradation.config import (
    DegradationConfig, FinalConfig, KernelConfig, StageConfig, sampling_hash)
from dalpsr_data.degradation.params import DegradationParams
from dalpsr_data.degradation.pipeline import apply
from dalpsr_data.degradation.prompt import parse_prompt, restoration_prompt
from dalpsr_data.degradation.sampling import sample_params
from dalpsr_data.degradation.severity import severities


def describe(params: DegradationParams, cfg: DegradationConfig) -> dict[str, Any]:
    """The ``<key>.deg.json`` record: raw params, severities, degrees, bins, prompt.

    Type-stable: the same keys for every sample; severities/degrees are floats, bins ints 0..3.
    Raises CalibrationMismatch (a ConfigError) when the calibration table is for another config.
    """
    table = load_table(cfg)
    sev = severities(params, cfg)
    deg = severity_degrees(sev, table)
    b = degree_bins(deg)
    return {
        "params": params.to_dict(),
        "severities": sev,
        "degrees": deg,
        "bins": b,
        "calibration_version": table_version(table),
        "prompt": restoration_prompt(b),
        "hr_is_usm": bool(cfg.save_usm_hr),
        "scale": int(cfg.scale),
        "patch_size": int(cfg.patch_size),
    }


def rebin(record: Mapping[str, Any], cfg: DegradationConfig) -> dict[str, Any]:
    """A ``<key>.deg.json`` record re-described with ``cfg``'s calibration table (and current
    severity model) from its recorded params: re-binning a dataset needs no image and no rebuild.
    The record's ``hr_is_usm`` is kept (the HR bytes on disk do not change)."""
    out = describe(DegradationParams.from_dict(record["params"]), cfg)
    out["hr_is_usm"] = bool(record["hr_is_usm"])
    return out


__all__ = [
    "CalibrationMismatch", "DegradationConfig", "DegradationParams", "FinalConfig", "KernelConfig",
    "StageConfig", "apply", "describe", "parse_prompt", "rebin", "restoration_prompt", "sample_params",
    "sampling_hash", "severities",
]
