"""Benchmark: `dalpsr-data build` throughput with 1 and 2 Ray workers on the sample photos.

Ray starts once (embedded, 2 CPUs) and a small warm-up build starts its worker processes,
so the timed builds measure the steady state: patches/s with 1 and with 2 workers, the
time per patch inside a worker (decode, crop, degrade, PNG encode, tar write), and the
same build in this process without Ray. When ``benchmarks/degrade.py`` is present its
in-process median triplet time is measured too. Prints one JSON line.

    .venv/bin/python benchmarks/build.py [--patches-per-image 16] [--shard-size 8]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

from dalpsr_data.build.config import BuildConfig, PatchConfig  # noqa: E402
from dalpsr_data.build.runner import run_build  # noqa: E402
from dalpsr_data.config_io import load_config  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def _timed_build(out: Path, executor: str, workers: int, patch_cfg: PatchConfig, deg_cfg,
                 shard_size: int, limit: int | None = None) -> dict:
    cfg = BuildConfig(sources=("samples",), out=str(out), executor=executor, workers=workers,
                      shard_size=shard_size, limit=limit)
    t0 = time.perf_counter()
    result = run_build(cfg, patch_cfg, deg_cfg)
    wall = time.perf_counter() - t0
    n = result.report["patches"]["built"]
    return {"patches": n, "wall_s": round(wall, 3), "patches_per_s": round(n / wall, 3),
            "worker_ms_per_patch": round(1000 * result.report["worker_seconds_per_patch"], 2)}


def _degrade_bench() -> dict | None:
    script = REPO / "benchmarks" / "degrade.py"
    if not script.is_file():
        return None
    proc = subprocess.run([sys.executable, str(script), "--patches", "30"], cwd=REPO,
                          capture_output=True, text=True, timeout=900)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    return json.loads(lines[-1]) if proc.returncode == 0 and lines else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patches-per-image", type=int, default=16, help="patches per sample photo (11 photos)")
    ap.add_argument("--shard-size", type=int, default=8, help="patches per shard (= per Ray task)")
    args = ap.parse_args()
    from dalpsr_data.degradation import DegradationConfig
    from dalpsr_data.ray_runtime import init_ray, shutdown_ray

    deg_cfg = load_config(DegradationConfig, "paper", "degradation")
    # repeat_crops: every sample photo gives --patches-per-image patches (the figures count 176)
    patch_cfg = PatchConfig(per_image=args.patches_per_image, repeat_crops=True)
    t0 = time.perf_counter()
    init_ray(num_cpus=2, quiet=True)
    ray_start = time.perf_counter() - t0
    out: dict = {"benchmark": "build", "source": "samples", "cpus": os.cpu_count(),
                 "patches_per_image": args.patches_per_image, "shard_size": args.shard_size,
                 "ray_start_s": round(ray_start, 2),
                 # Other processes on the machine distort every figure: recorded with them.
                 "load_avg_1m_before": round(os.getloadavg()[0], 2)}
    with tempfile.TemporaryDirectory(prefix="dalpsr-bench-") as tmp:
        _timed_build(Path(tmp) / "warm", "ray", 2, PatchConfig(per_image=1), deg_cfg, 1, limit=2)
        for w in (1, 2):
            out[f"ray_{w}_worker"] = _timed_build(Path(tmp) / f"w{w}", "ray", w, patch_cfg, deg_cfg,
                                                  args.shard_size)
        out["in_process"] = _timed_build(Path(tmp) / "local", "local", 1, patch_cfg, deg_cfg, args.shard_size)
    shutdown_ray()
    one, two = out["ray_1_worker"], out["ray_2_worker"]
    out["speedup_2_vs_1"] = round(two["patches_per_s"] / one["patches_per_s"], 3)
    per_core_ms = 1000 / one["patches_per_s"]
    out["ray_1_worker_ms_per_patch"] = round(per_core_ms, 2)
    out["overhead_vs_in_process"] = round(per_core_ms / (1000 / out["in_process"]["patches_per_s"]), 3)
    deg = _degrade_bench()
    if deg is not None:
        out["degrade_py_total_ms"] = deg.get("total_ms")
        out["ratio_vs_degrade_py"] = round(per_core_ms / deg["total_ms"], 3) if deg.get("total_ms") else None
    out["load_avg_1m_after"] = round(os.getloadavg()[0], 2)
    out["targets"] = {"speedup_2_vs_1": ">= 1.7", "ratio_vs_degrade_py": "<= 1.3"}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
