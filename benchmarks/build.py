"""Benchmark: `dalpsr-data build` ms per triplet (in-process, 1 and 2 Ray workers) against BasicSR.

Ray starts once (embedded, 2 CPUs) and a small warm-up build starts its worker processes,
so the timed builds measure the steady state. In the same run, BasicSR's reference path
(``ref_degrade.py`` beside the shared tools, 1 thread, no logging, no writing) degrades the
15 scikit-image test photos; its median seconds per 512 patch over ours gives ``ratio_vs_ref_*``,
the figures that stay meaningful on a shared machine; ``ratio_vs_ref_cpu_in_process`` compares
CPU time on both sides, which load distorts least. ``benchmarks/degrade.py`` gives the
per-stage split (mean CPU ms per patch). Prints one JSON line.

    .venv/bin/python benchmarks/build.py [--patches-per-image 48] [--shard-size 8]
        [--ref-python /tmp/refvenv/bin/python] [--ref-script ../shared/tools/ref_degrade.py]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

from dalpsr_data.build.config import BuildConfig, PatchConfig  # noqa: E402
from dalpsr_data.build.runner import run_build  # noqa: E402
from dalpsr_data.config_io import load_config  # noqa: E402
from dalpsr_data.degradation import DegradationConfig  # noqa: E402
from dalpsr_data.ray_runtime import init_ray, shutdown_ray  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
# ../shared beside a clone (a worktree one level deeper finds it one level up)
REF_SCRIPT = next((p for p in (REPO.parent / "shared" / "tools" / "ref_degrade.py",
                               REPO.parents[1] / "shared" / "tools" / "ref_degrade.py") if p.is_file()),
                  REPO.parent / "shared" / "tools" / "ref_degrade.py")
REF_PYTHON = Path("/tmp/refvenv/bin/python")  # README-ref.md: how to recreate it


def _timed_build(out: Path, executor: str, workers: int, patch_cfg: PatchConfig, deg_cfg,
                 shard_size: int, limit: int | None = None) -> dict:
    cfg = BuildConfig(sources=("samples",), out=str(out), executor=executor, workers=workers,
                      shard_size=shard_size, limit=limit)
    t0, c0 = time.perf_counter(), time.process_time()
    result = run_build(cfg, patch_cfg, deg_cfg)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    n = result.report["patches"]["built"]
    out = {"patches": n, "wall_s": round(wall, 3), "ms_per_triplet": round(1000 * wall / n, 2),
           "worker_ms_per_patch": round(1000 * result.report["worker_seconds_per_patch"], 2)}
    if executor == "local":  # this process did all the work: its CPU time ignores the machine's load
        out["cpu_ms_per_triplet"] = round(1000 * cpu / n, 2)
    return out


def _json_tail(cmd: list[str], timeout: int) -> dict | None:
    """The last JSON object a command prints on stdout (None if it failed)."""
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-2000:])
        return None
    text = proc.stdout
    start = text.rfind("\n{")  # ref_degrade prints an indented object, degrade.py one line
    try:
        return json.loads(text[start + 1:] if start >= 0 else text)
    except json.JSONDecodeError:
        return None


def _children_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _reference(python: Path, script: Path, tmp: Path) -> dict | None:
    """BasicSR's path, 1 thread: median wall ms per patch (dataset part + degradation), and CPU
    ms per patch from the CPU time of a full run minus a 1-photo run (imports cancel out)."""
    if not (python.is_file() and script.is_file()):
        return None
    imgs = tmp / "refimgs"
    if _json_tail([str(python), str(script), "--make-test-images", str(imgs)], 300) is None and not any(imgs.glob("*")):
        return None
    cmd = [str(python), str(script), "--input", str(imgs), "--output", str(tmp / "refout"),
           "--seed", "0", "--threads", "1", "--no-record", "--no-save"]
    c0 = _children_cpu_s()
    if _json_tail(cmd + ["--limit", "1"], 600) is None:
        return None
    c1 = _children_cpu_s()
    out = _json_tail(cmd, 1800)
    if out is None:
        return None
    cpu_ms = 1000 * ((_children_cpu_s() - c1) - (c1 - c0)) / (out["patches"] - 1)
    return {"ms_per_patch": round(1000 * out["total_ref_s"]["median"], 1), "cpu_ms_per_patch": round(cpu_ms, 1),
            "patches": out["patches"], "stage_median_ms": out["stage_median_ms"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # 48 x 11 = 528 patches, ~12 s for one worker: a run's fixed start and end (~0.15 s: the
    # plan, the first task's round trip, the report) weigh 1-2%, not the 4-7% of 16 per photo
    ap.add_argument("--patches-per-image", type=int, default=48, help="patches per sample photo (11 photos)")
    ap.add_argument("--shard-size", type=int, default=8, help="patches per shard (= per Ray task)")
    ap.add_argument("--ref-python", type=Path, default=REF_PYTHON, help="python of the BasicSR venv")
    ap.add_argument("--ref-script", type=Path, default=REF_SCRIPT, help="ref_degrade.py")
    args = ap.parse_args()
    deg_cfg = load_config(DegradationConfig, "paper", "degradation")
    # repeat_crops: every sample photo gives --patches-per-image patches (11 photos)
    patch_cfg = PatchConfig(per_image=args.patches_per_image, repeat_crops=True)
    out: dict = {"benchmark": "build", "source": "samples", "cpus": os.cpu_count(),
                 "patches_per_image": args.patches_per_image, "shard_size": args.shard_size,
                 # Other processes on the machine distort every figure: recorded with them.
                 "load_avg_1m_before": round(os.getloadavg()[0], 2)}
    with tempfile.TemporaryDirectory(prefix="dalpsr-bench-") as tmp:
        # warm-up: the first build of a process pays imports, the preflight and the samples' files
        _timed_build(Path(tmp) / "warm-local", "local", 1, PatchConfig(per_image=1), deg_cfg, 1, limit=2)
        out["in_process"] = _timed_build(Path(tmp) / "local", "local", 1, patch_cfg, deg_cfg, args.shard_size)
        t0 = time.perf_counter()
        init_ray(num_cpus=2, quiet=True)
        out["ray_start_s"] = round(time.perf_counter() - t0, 2)
        _timed_build(Path(tmp) / "warm", "ray", 2, PatchConfig(per_image=1), deg_cfg, 1, limit=2)
        for w in (1, 2):
            out[f"ray_{w}_worker"] = _timed_build(Path(tmp) / f"w{w}", "ray", w, patch_cfg, deg_cfg,
                                                  args.shard_size)
        shutdown_ray()
        ref = _reference(args.ref_python, args.ref_script, Path(tmp))
    one, two = out["ray_1_worker"], out["ray_2_worker"]
    out["speedup_2_vs_1"] = round(one["wall_s"] / one["patches"] * two["patches"] / two["wall_s"], 3)
    out["ms_per_triplet_in_process"] = out["in_process"]["ms_per_triplet"]
    out["ms_per_triplet_1_worker"] = one["ms_per_triplet"]
    out["reference"] = ref
    if ref is not None:
        out["ratio_vs_ref_1_worker"] = round(ref["ms_per_patch"] / one["ms_per_triplet"], 1)
        out["ratio_vs_ref_in_process"] = round(ref["ms_per_patch"] / out["in_process"]["ms_per_triplet"], 1)
        # CPU time on both sides: the figure a loaded machine distorts least
        out["ratio_vs_ref_cpu_in_process"] = round(ref["cpu_ms_per_patch"] / out["in_process"]["cpu_ms_per_triplet"], 1)
    deg = _json_tail([sys.executable, str(REPO / "benchmarks" / "degrade.py"), "--patches", "60"], 900)
    out["stage_mean_cpu_ms"] = deg.get("mean_ms") if deg else None
    out["load_avg_1m_after"] = round(os.getloadavg()[0], 2)
    out["targets"] = {"ms_per_triplet_1_worker": "<= 30", "ratio_vs_ref_1_worker": ">= 45",
                      "speedup_2_vs_1": ">= 1.8"}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
