"""Benchmark: decoded samples/s of the streaming loader with 0, 1 and 2 DataLoader workers,
and IRPAD training samples/s on the CPU. Prints one JSON line.

Input: ``--shards`` (a build folder), or by default a fresh build of the bundled sample
photos made with the real builder into a temporary folder. Loader rates are measured for
all fields (LR + HR + bins + prompt + caption: what the ControlNet reads) and for LR + bins
only (what IRPAD reads), over whole epochs after one warm-up batch.
``loader_over_irpad`` = LR-only rate with 2 workers / the faster IRPAD training rate
(default architecture, or width 8 / dim 64): goal >= 3.

    .venv/bin/python benchmarks/loader.py [--shards DIR] [--batch 16] [--epochs 2] [--irpad-steps 8]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

from dalpsr_model.data import ALL_FIELDS, EpochLoader  # noqa: E402


def make_build(root: str, per_image: int) -> str:
    from dalpsr_data.build.config import BuildConfig, PatchConfig
    from dalpsr_data.build.runner import run_build

    run_build(BuildConfig(sources=("samples",), out=root, executor="local", workers=1, shard_size=16),
              PatchConfig(per_image=per_image, repeat_crops=True))
    return root


def loader_rate(root: str, workers: int, fields: tuple[str, ...], batch: int, epochs: int) -> float:
    loader = EpochLoader(root, batch_size=batch, num_workers=workers, fields=fields, max_epochs=epochs)
    it = iter(loader)
    next(it)  # worker start-up is not part of the steady rate
    t0, n = time.perf_counter(), 0
    for b in it:
        n += len(b["key"]) if "key" in b else b["lr"].shape[0]
    return n / (time.perf_counter() - t0)


def irpad_rate(root: str, steps: int, batch: int, **arch: int) -> float:
    from dalpsr_model.irpad.model import Irpad, IrpadArch, irpad_loss

    torch.manual_seed(0)
    model = Irpad(IrpadArch(**arch))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    data = next(iter(EpochLoader(root, batch_size=batch, fields=("lr", "bins"), max_epochs=1)))
    times = []
    for i in range(steps + 2):
        t0 = time.perf_counter()
        loss, _ = irpad_loss(model(data["lr"]), data["bins"])
        loss.backward()
        opt.step()
        opt.zero_grad()
        if i >= 2:
            times.append(time.perf_counter() - t0)
    return data["lr"].shape[0] * len(times) / sum(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shards", default="", help="build folder (default: build the sample photos)")
    ap.add_argument("--per-image", type=int, default=6, help="patches per photo for the default build")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--irpad-steps", type=int, default=8)
    ap.add_argument("--irpad-batch", type=int, default=32)
    args = ap.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        root = args.shards or make_build(os.path.join(tmp, "build"), args.per_image)
        result: dict = {"benchmark": "loader", "threads": 1, "batch": args.batch,
                        "samples": sum(s["nsamples"] for s in json.load(open(os.path.join(root, "index.json")))["shardlist"])}
        for w in (0, 1, 2):
            result[f"all_fields_sps_w{w}"] = round(loader_rate(root, w, ALL_FIELDS, args.batch, args.epochs), 1)
            result[f"lr_bins_sps_w{w}"] = round(loader_rate(root, w, ("lr", "bins", "key"), args.batch, args.epochs), 1)
        result["irpad_train_sps_cpu"] = round(irpad_rate(root, args.irpad_steps, args.irpad_batch), 1)
        result["irpad_w8_d64_train_sps_cpu"] = round(
            irpad_rate(root, args.irpad_steps, args.irpad_batch, width=8, dim=64), 1)
        fastest = max(result["irpad_train_sps_cpu"], result["irpad_w8_d64_train_sps_cpu"])
        result["loader_over_irpad"] = round(result["lr_bins_sps_w2"] / fastest, 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
