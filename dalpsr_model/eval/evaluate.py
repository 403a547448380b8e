"""`dalpsr-eval`'s work: check everything, score each image, FID over the set, write outputs.

Every check that can fail (folders, pairing, pyiqa present, each weight file) runs in
:func:`prepare` before a single image is decoded. An image that cannot be decoded or whose
size differs from its HR is a recorded failure (``failed`` in metrics.json) and the run goes
on; means and FID cover the scored images only, and ``n_scored`` says how many.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from dalpsr_data.config_io import ConfigError
from dalpsr_data.outlock import holds_out_lock
from dalpsr_data.versions import package_versions
from dalpsr_model.eval import fidelity
from dalpsr_model.eval.config import EvalConfig
from dalpsr_model.eval.frechet import frechet_of_features
from dalpsr_model.eval.iqa import IqaScorer, offline_caches, require_pyiqa
from dalpsr_model.eval.pairing import Pair, list_images, load_rgb, pair_images
from dalpsr_model.eval.report import check_out_dir, dataset_name, write_outputs
from dalpsr_model.eval.sheet import comparison_sheet
from dalpsr_model.eval.weights import IQA_METRICS, check_weights


@dataclass(frozen=True)
class Plan:
    pairs: list[Pair]
    metrics: list[str]
    weights: dict[str, str]  # relative path -> sha256
    out: Path


def _folder(value: str | None, flag: str) -> Path | None:
    if value is None:
        return None
    p = Path(value)
    if not p.is_dir():
        raise ConfigError(f"{flag} {p} is not a folder")
    return p


def prepare(cfg: EvalConfig) -> Plan:
    """All checks, before any image is read; raises ConfigError with the option to fix."""
    sr, hr, lr = _folder(cfg.sr, "--sr"), _folder(cfg.hr, "--hr"), _folder(cfg.lr, "--lr")
    out = Path(cfg.out)
    for flag, p in (("--sr", sr), ("--hr", hr), ("--lr", lr)):
        if p is not None and out.resolve() == p.resolve():
            raise ConfigError(f"--out must differ from {flag} ({p})")
    check_out_dir(out, dataclasses.asdict(cfg), cfg.overwrite)
    metrics = cfg.metric_list()
    if not metrics:
        raise ConfigError(f"--metrics {cfg.metrics}: nothing to compute without --hr "
                          "(no-reference metrics: maniqa,musiq,clipiqa)")
    require_pyiqa(cfg.pyiqa_metrics())
    weights = check_weights(cfg.weights_dir, cfg.pyiqa_metrics())
    exclude = out if out.exists() else None
    pairs = pair_images(list_images(sr, exclude), list_images(hr, exclude) if hr else None,
                        list_images(lr, exclude) if lr else None)
    if "fid" in metrics and len(pairs) < 2:
        raise ConfigError("--metrics fid needs at least 2 image pairs")
    return Plan(pairs, metrics, weights, out)


def _device(cfg: EvalConfig) -> str:
    import torch

    if cfg.device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if cfg.device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda: no CUDA device is available")
    return cfg.device


def _versions(with_pyiqa: bool) -> dict[str, str]:
    names = ["dalpsr", "numpy", "opencv-python-headless", "scipy"] + (["torch", "pyiqa", "timm"] if with_pyiqa else [])
    return {"python": platform.python_version(), **package_versions(names, missing=None)}


def _json_number(x: float) -> float | str:
    return x if math.isfinite(x) else str(x)  # JSON has no inf: identical images give "inf" PSNR


def _score_images(cfg: EvalConfig, plan: Plan, scorer: Any, log: Callable[[str], None]
                  ) -> tuple[dict[str, dict[str, float]], dict[str, str]]:
    per_image, failed = {}, {}
    for i, pair in enumerate(plan.pairs):
        try:
            sr = load_rgb(pair.sr)
            hr = load_rgb(pair.hr) if pair.hr is not None else None
            if hr is not None and sr.shape != hr.shape:
                raise ValueError(f"SR is {sr.shape[1]}x{sr.shape[0]} but HR is {hr.shape[1]}x{hr.shape[0]}")
            row = {}
            if "psnr" in plan.metrics:
                row["psnr"] = fidelity.psnr_y(sr, hr, cfg.crop_border)
            if "ssim" in plan.metrics:
                row["ssim"] = fidelity.ssim_y(sr, hr, cfg.crop_border, cfg.ssim_variant)
        except ValueError as e:
            failed[pair.key] = str(e)
            continue
        if scorer is not None:
            row.update(scorer.score(sr, hr))
        per_image[pair.key] = row
        if (i + 1) % 50 == 0:
            log(f"scored {i + 1}/{len(plan.pairs)} images")
    return per_image, failed


@holds_out_lock
def evaluate(cfg: EvalConfig, log: Callable[[str], None] = lambda s: None) -> dict[str, Any]:
    """Run the whole evaluation; returns what metrics.json holds (without per-image rows)."""
    plan = prepare(cfg)
    iqa = [m for m in plan.metrics if m in IQA_METRICS]
    scorer, stack = None, contextlib.ExitStack()
    with stack:
        if iqa:
            device = _device(cfg)
            stack.enter_context(offline_caches(cfg.weights_dir))
            scorer = IqaScorer(iqa, device)
        per_image, failed = _score_images(cfg, plan, scorer, log)
        means = {m: float(np.mean([r[m] for r in per_image.values()]))
                 for m in plan.metrics if m != "fid" and per_image}
        scored = [p for p in plan.pairs if p.key in per_image]
        if scorer is not None and scorer.fid is not None and len(scored) >= 2:
            log(f"FID features of {len(scored)} SR and HR images")
            feats_sr = scorer.fid_features([p.sr for p in scored], cfg.fid_batch_size)
            feats_hr = scorer.fid_features([p.hr for p in scored], cfg.fid_batch_size)
            means["fid"] = frechet_of_features(feats_sr, feats_hr)
    name = cfg.dataset or dataset_name(Path(cfg.hr or cfg.sr))
    result = {
        "config": dataclasses.asdict(cfg), "dataset": name, "method": cfg.method,
        "metrics": plan.metrics, "dropped_without_hr": cfg.dropped_metrics(),
        "variants": {m: IQA_METRICS[m].variant for m in iqa},
        "pyiqa_names": {m: IQA_METRICS[m].pyiqa_name for m in iqa},
        "n_images": len(plan.pairs), "n_scored": len(per_image), "failed": failed,
        "means": {m: _json_number(v) for m, v in means.items()},
        "per_image": {k: {m: _json_number(v) for m, v in r.items()} for k, r in per_image.items()},
        "weights_sha256": plan.weights, "versions": _versions(bool(iqa)),
    }
    sheet = comparison_sheet(plan.pairs, cfg.sheet_images, cfg.sheet_crop, failed) if cfg.sheet_images else None
    files = write_outputs(plan.out, result, means, per_image, sheet)
    return {**{k: v for k, v in result.items() if k != "per_image"}, "files": [str(f) for f in files]}
