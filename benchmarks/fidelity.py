"""Benchmark: does our degradation give BasicSR's distribution of LR images? One JSON line.

BasicSR's path (``ref_degrade.py`` beside the shared tools, its own parameter draws) degrades
crops of the 15 scikit-image test photos; our ``sample_params`` + ``apply`` degrade the same GT
crops with our own draws. Each LR gets five proxies measured against the GT (area-downsampled
to the LR size): blur (log ratio of Laplacian energy), noise (median |LR - median3(LR)|),
JPEG (8x8 blockiness), PSNR and mean level. ``ks_d`` is the two-sample Kolmogorov-Smirnov
distance per proxy (scipy), ``ks_d_max`` its largest (the check: < 0.14). ``approximation``
compares our pipeline with ops.EXACT_POISSON = True (numpy's exact Poisson everywhere)
on the same params: KS D of the proxies and mean |LR difference| in levels.

    .venv/bin/python benchmarks/fidelity.py [--repeat 20] [--seed 0] [--ref-exact-usm]

``--fast-usm`` is passed to the reference unless --ref-exact-usm: its cv2 USM differs from
BasicSR's torch USM by at most 3e-4/255 (README-ref.md) and is 5x faster.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

from dalpsr_data.build.process_shard import keep_freed_memory  # noqa: E402
from dalpsr_data.degradation import DegradationConfig, apply, ops, sample_params  # noqa: E402
from dalpsr_data.seeding import rng_for  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
REF_SCRIPT = next((p for p in (REPO.parent / "shared" / "tools" / "ref_degrade.py",
                               REPO.parents[1] / "shared" / "tools" / "ref_degrade.py") if p.is_file()),
                  REPO.parent / "shared" / "tools" / "ref_degrade.py")
PROXIES = ("blur", "noise", "jpeg", "psnr", "mean")


def _laplacian_energy(a: np.ndarray) -> float:
    return float(np.mean(cv2.Laplacian(a, cv2.CV_64F) ** 2)) + 1e-6


def proxies(lr: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    """The five LR measures of one (LR uint8 (n, n, 3), GT uint8 (4n, 4n, 3)) pair."""
    n = lr.shape[0]
    ref = cv2.resize(gt, (n, n), interpolation=cv2.INTER_AREA).astype(np.float64)
    y = cv2.cvtColor(lr, cv2.COLOR_RGB2GRAY).astype(np.float64)
    y_ref = cv2.cvtColor(ref.astype(np.float32), cv2.COLOR_RGB2GRAY).astype(np.float64)
    noise = float(np.median(np.abs(y - cv2.medianBlur(y.astype(np.uint8), 3))))
    dx = np.abs(np.diff(y, axis=1))
    edge = dx[:, 7::8].mean() + np.abs(np.diff(y, axis=0))[7::8].mean()
    inner = dx.mean() + np.abs(np.diff(y, axis=0)).mean()
    mse = float(np.mean((lr.astype(np.float64) - ref) ** 2)) + 1e-6
    return {"blur": float(np.log(_laplacian_energy(y) / _laplacian_energy(y_ref))), "noise": noise, "jpeg": float(edge / (inner + 1e-6)),
            "psnr": 10 * float(np.log10(255 ** 2 / mse)), "mean": float(lr.mean())}


def _ks(a: list[dict], b: list[dict]) -> dict[str, float]:
    return {k: round(float(stats.ks_2samp([r[k] for r in a], [r[k] for r in b]).statistic), 4) for k in PROXIES}


def _read(path: Path) -> np.ndarray:
    return np.ascontiguousarray(cv2.imread(str(path), cv2.IMREAD_COLOR)[..., ::-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=20, help="passes over the 15 photos (new crops, new draws)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ref-python", type=Path, default=Path("/tmp/refvenv/bin/python"))
    ap.add_argument("--ref-script", type=Path, default=REF_SCRIPT)
    ap.add_argument("--ref-exact-usm", action="store_true", help="BasicSR's torch USM (5x slower)")
    ap.add_argument("--ref-out", type=Path, help="keep the reference's output here; reused when it exists")
    args = ap.parse_args()
    cv2.setNumThreads(1)
    keep_freed_memory()
    cfg = DegradationConfig()
    with tempfile.TemporaryDirectory(prefix="dalpsr-fidelity-") as tmp:
        imgs, out = Path(tmp) / "imgs", args.ref_out or Path(tmp) / "ref"
        if not (out / "gt").is_dir():
            subprocess.run([str(args.ref_python), str(args.ref_script), "--make-test-images", str(imgs)],
                           check=True, capture_output=True)
            cmd = [str(args.ref_python), str(args.ref_script), "--input", str(imgs), "--output", str(out),
                   "--seed", str(args.seed), "--threads", "1", "--repeat", str(args.repeat), "--no-record"]
            subprocess.run(cmd + ([] if args.ref_exact_usm else ["--fast-usm"]), check=True, capture_output=True)
        ref, ours, exact, diffs = [], [], [], []
        for gt_path in sorted((out / "gt").glob("*.png")):
            gt = _read(gt_path)
            ref.append(proxies(_read(out / "lr" / gt_path.name), gt))
            params = sample_params(rng_for(args.seed, gt_path.stem, "degrade"), cfg)
            lr = apply(gt, params, cfg)[1]
            ours.append(proxies(lr, gt))
            ops.EXACT_POISSON = True
            try:
                lr_exact = apply(gt, params, cfg)[1]
            finally:
                ops.EXACT_POISSON = False
            exact.append(proxies(lr_exact, gt))
            diffs.append(float(np.abs(lr.astype(np.int16) - lr_exact).mean()))
    ks = _ks(ours, ref)
    result = {"benchmark": "fidelity", "patches": len(ours), "ref_usm": "torch" if args.ref_exact_usm else "cv2",
              "ks_d": ks, "ks_d_max": max(ks.values()),
              "ks_d_critical_95": round(1.358 * (2 / len(ours)) ** 0.5, 4),
              "approximation": {"ks_d_vs_exact_poisson": _ks(ours, exact),
                                "mean_abs_lr_diff_levels": round(float(np.mean(diffs)), 4)},
              "target": {"ks_d_max": "< 0.14"}}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
