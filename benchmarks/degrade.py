"""Benchmark: median and mean milliseconds per 512 patch, on one core, per stage of the degradation.

Input: the colour photographs bundled with scikit-image, PNG-encoded in memory (so "decode" is
a real PNG decode; photos under 512 are reflect-padded, inside "decode"). For each patch: decode -> crop 512 -> sample_params -> apply (USM, blur, resize,
noise, JPEG timed inside) -> PNG encode of HR and LR. Prints one JSON line.

    .venv/bin/python benchmarks/degrade.py [--patches 80] [--seed 0] [--clock cpu|wall]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from dalpsr_data.build.png import encode_png  # noqa: E402
from dalpsr_data.build.process_shard import keep_freed_memory  # noqa: E402
from dalpsr_data.degradation import DegradationConfig, apply, pipeline, sample_params  # noqa: E402
from dalpsr_data.seeding import rng_for  # noqa: E402

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "hubble_deep_field")
STAGES = ("decode", "usm", "blur", "resize", "noise", "jpeg", "png_hr", "png_lr")


def _photos() -> list[bytes]:
    from skimage import data
    out = []
    for name in PHOTOS:
        img = getattr(data, name)()
        if img.ndim == 3:
            out.append(cv2.imencode(".png", np.ascontiguousarray(img[..., :3][..., ::-1]))[1].tobytes())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patches", type=int, default=80, help="patches timed (after 3 warm-up patches)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the parameter draws")
    ap.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                    help="cpu: process CPU time (robust on a shared machine); wall: perf_counter")
    args = ap.parse_args()
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    pipeline.CLOCK = clock
    cv2.setNumThreads(1)
    keep_freed_memory()  # as a build worker does
    cfg = DegradationConfig()
    photos = _photos()
    per: dict[str, list[float]] = {s: [] for s in STAGES + ("total", "total_wall")}
    for i in range(args.patches + 3):
        t: dict[str, float] = {}
        w0, t0 = time.perf_counter(), clock()
        img = cv2.imdecode(np.frombuffer(photos[i % len(photos)], np.uint8), cv2.IMREAD_COLOR)
        h, w = img.shape[:2]
        if h < 512 or w < 512:  # reflect-pad small photos to one patch, as Real-ESRGAN does
            img = cv2.copyMakeBorder(img, 0, max(0, 512 - h), 0, max(0, 512 - w), cv2.BORDER_REFLECT_101)
        rng = rng_for(args.seed, f"bench-{i}", "crop")
        y, x = (int(rng.integers(0, s - 512 + 1)) for s in img.shape[:2])
        gt = np.ascontiguousarray(img[y:y + 512, x:x + 512, ::-1])
        t["decode"] = clock() - t0
        params = sample_params(rng_for(args.seed, f"bench-{i}", "degradation"), cfg)
        hr, lr = apply(gt, params, cfg, timings=t)
        for name, arr in (("png_hr", hr), ("png_lr", lr)):
            t1 = clock()
            encode_png(arr, -1)  # the build's default encoder
            t[name] = clock() - t1
        total, total_wall = clock() - t0, time.perf_counter() - w0
        if i >= 3:
            for s in STAGES:
                per[s].append(t.get(s, 0.0))
            per["total"].append(total)
            per["total_wall"].append(total_wall)
    result = {f"{s}_ms": round(1000 * statistics.median(v), 2) for s, v in per.items()}
    # Throughput is set by the mean: Poisson noise on a 1.5x upscaled stage 1 is a heavy tail
    # that the median hides. "other": the triplet's time outside the named stages.
    per["other"] = [tot - sum(per[s][i] for s in STAGES) for i, tot in enumerate(per["total"])]
    result["mean_ms"] = {s: round(1000 * statistics.fmean(v), 2) for s, v in per.items()}
    result.update(patches=args.patches, threads=1, clock=args.clock, target_total_ms=30)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
