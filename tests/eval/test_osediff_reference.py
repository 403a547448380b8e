"""Reproduce the per-image metric values OSEDiff published with its result PNGs.

OSEDiff's repository ships, for RealSR (100) and DRealSR (93) at 128 -> 512,
``preset/datasets/benchmark_{realsr,drealsr}/{test_LR,test_HR,results_osediff}`` and the log
of its pyiqa run, ``results_osediff/metrics/test_METRICS_*.log``: PSNR/SSIM (pyiqa, Y of
YCbCr, no crop), LPIPS, DISTS, CLIPIQA, NIQE, MUSIQ, MANIQA (maniqa-pipal) per image, and the
folder FID. Set ``DALPSR_OSEDIFF_DIR`` to a checkout of it (nothing of it is committed here):
PSNR/SSIM need no weights; the pyiqa metrics also need pyiqa and ``DALPSR_IQA_WEIGHTS``, a
folder laid out as docs/eval.md says. Skipped otherwise.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path

import pytest

from dalpsr_model.eval.config import EvalConfig
from dalpsr_model.eval.evaluate import evaluate
from dalpsr_model.eval.iqa import pyiqa_available

OSEDIFF = os.environ.get("DALPSR_OSEDIFF_DIR")
WEIGHTS = os.environ.get("DALPSR_IQA_WEIGHTS")
SETS = ("benchmark_realsr", "benchmark_drealsr")
LOG_COLUMNS = {"PSNR": "psnr", "SSIM": "ssim", "LPIPS": "lpips", "CLIPIQA": "clipiqa", "MUSIQ": "musiq",
               "MANIQA": "maniqa"}
# The log was written on a GPU with pyiqa of October 2024; these cover float32/GPU-vs-CPU and
# version drift of the networks, far below the gaps between methods in Table I.
TOLERANCE = {"psnr": 1e-4, "ssim": 5e-6, "lpips": 2e-3, "clipiqa": 2e-3, "maniqa": 2e-3, "musiq": 0.1}

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not OSEDIFF, reason="DALPSR_OSEDIFF_DIR (an OSEDiff checkout) is not set")]


def bench_dir(name: str) -> Path:
    d = Path(OSEDIFF) / "preset" / "datasets" / name
    if not (d / "results_osediff").is_dir():
        pytest.fail(f"DALPSR_OSEDIFF_DIR={OSEDIFF} has no preset/datasets/{name}/results_osediff")
    return d


def published(d: Path) -> tuple[dict[str, dict[str, float]], float]:
    """Per-image values and the FID of the log next to the result PNGs."""
    (log,) = sorted((d / "results_osediff" / "metrics").glob("test_METRICS_*.log"))
    per_image, fid = {}, None
    for line in log.read_text().splitlines():
        m = re.search(r"results_osediff/(\S+)\.png \| (.*?) \| Runtime", line)
        if m:
            pairs = (kv.split(": ") for kv in m.group(2).split("; "))
            per_image[m.group(1)] = {LOG_COLUMNS[k]: float(v) for k, v in pairs if k in LOG_COLUMNS}
        elif "| FID: " in line:
            fid = float(line.split("| FID: ")[1].split()[0])
    return per_image, fid


def run(d: Path, out: Path, metrics: str, **kw) -> dict:
    cfg = EvalConfig(sr=str(d / "results_osediff"), hr=str(d / "test_HR"), out=str(out), metrics=metrics,
                     sheet_images=0, **kw)
    evaluate(cfg)
    return json.loads((out / "metrics.json").read_text())


def assert_close(ours: dict, ref: dict[str, dict[str, float]], metric: str) -> None:
    assert set(ours) == set(ref)
    worst = max(ref, key=lambda k: abs(ours[k][metric] - ref[k][metric]))
    assert abs(ours[worst][metric] - ref[worst][metric]) <= TOLERANCE[metric], (metric, worst)


@pytest.mark.parametrize("name", SETS)
def test_psnr_and_pyiqa_ssim_match_the_log(name, tmp_path):
    d = bench_dir(name)
    ref, _ = published(d)
    assert len(ref) == {"benchmark_realsr": 100, "benchmark_drealsr": 93}[name]
    m = run(d, tmp_path / "o", "psnr,ssim", ssim_variant="pyiqa")
    # pyiqa adds eps = 1e-8 to the MSE of [0, 1] images: 0.0025 dB at DRealSR's 47.6 dB image.
    for row in m["per_image"].values():
        row["psnr"] = -10 * math.log10(10 ** (-row["psnr"] / 10) + 1e-8)
    assert_close(m["per_image"], ref, "psnr")
    assert_close(m["per_image"], ref, "ssim")


@pytest.mark.skipif(not WEIGHTS or not pyiqa_available(), reason="needs pyiqa and DALPSR_IQA_WEIGHTS")
@pytest.mark.parametrize("name", SETS)
def test_pyiqa_metrics_match_the_log(name, tmp_path):
    d = bench_dir(name)
    ref, fid = published(d)
    m = run(d, tmp_path / "o", "lpips,fid,maniqa,musiq,clipiqa", weights_dir=WEIGHTS)
    for metric in ("lpips", "clipiqa", "musiq", "maniqa"):
        assert_close(m["per_image"], ref, metric)
    assert m["means"]["fid"] == pytest.approx(fid, rel=1e-3)
    assert len(m["weights_sha256"]) == 7
