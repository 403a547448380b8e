"""Benchmark: `dalpsr-sr` pass 2 seconds per image. Prints one JSON line.

CPU (default): the tiny test stack, fp32, 512 px outputs (32 px LRs: short side -> 128),
``--steps`` sampler steps with CFG: seconds per image through ``super_resolve_batch``
(decode, z_LR, sampling, VAE decode, colour fix, PNG write) and the share of that time
spent outside the model forwards (UNet, ControlNet, VAE encode/decode, text encoder).
Goal: <= 10 %.

GPU (``--device cuda``): the SD 2.1-base architecture from its public config values with
random bf16 weights (benchmarks/train.py's builder; nothing downloaded) and a latent
ControlNet copied from it; 512 px outputs at 50 DDPM steps with CFG 5.5: seconds per image
and peak memory at batch 1, 4 and 8, and one 1024 px output (latent tiles of 96). Target:
<= 2 s per 512 px image on one H200 (SeeSR: 4.3 s on an A100).

    .venv/bin/python benchmarks/sr.py [--images 4] [--steps 20]
    python benchmarks/sr.py --device cuda
    .venv/bin/python benchmarks/sr.py --smoke     # the cuda code path on CPU with the tiny stack
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.support, benchmarks, dalpsr_*

import torch  # noqa: E402

from dalpsr_model.sr.config import SRConfig  # noqa: E402
from dalpsr_model.sr.pipeline import SRPipeline  # noqa: E402


class ForwardClock:
    """Wall time spent inside the wrapped model calls (CUDA synchronized at both ends)."""

    def __init__(self, cuda: bool) -> None:
        self.seconds, self.cuda = 0.0, cuda

    def wrap(self, obj: object, name: str) -> None:
        fn = getattr(obj, name)

        def timed(*a, **k):
            if self.cuda:
                torch.cuda.synchronize()
            t = time.perf_counter()
            out = fn(*a, **k)
            if self.cuda:
                torch.cuda.synchronize()
            self.seconds += time.perf_counter() - t
            return out

        setattr(obj, name, timed)


def _cfg(out: Path, **kw) -> SRConfig:
    return SRConfig(inputs=("-",), out=str(out), base="-", controlnet="-", restoration_prompt="Deblur with sigma 0.5~0.75",
                    no_captions=True, progress=False, **kw)


def cpu_tiny(args: argparse.Namespace) -> dict:
    from dalpsr_model.sr.inputs import collect_inputs
    from dalpsr_model.sr.parallel import super_resolve_batch
    from dalpsr_model.sr.records import PromptRecord
    from tests.sr.conftest import write_lr_folder
    from tests.support.tiny_sr import build_tiny_sr_models

    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    with tempfile.TemporaryDirectory(prefix="dalpsr-bench-sr-") as tmp:
        tmp = Path(tmp)
        m = build_tiny_sr_models(tmp / "models")
        src = write_lr_folder(tmp / "in", [(32, 32)] * (args.images + 1))
        cfg = SRConfig(inputs=(str(src),), out=str(tmp / "out"), base=str(m["base"]), controlnet=str(m["controlnet"]),
                       restoration_prompt="Deblur with sigma 0.5~0.75", no_captions=True, device="cpu",
                       steps=args.steps, batch_size=args.batch, progress=False)
        pipe = SRPipeline.load(cfg)
        items = collect_inputs(cfg.inputs)
        records = {it.key: PromptRecord(it.key, restoration=cfg.restoration_prompt) for it in items}
        super_resolve_batch(pipe, items[:1], records)   # warm-up
        clock = ForwardClock(cuda=False)
        for mod, name in ((pipe.base.unet, "forward"), (pipe.controlnet, "forward"), (pipe.base.vae, "encode"),
                          (pipe.base.vae, "decode"), (pipe.base.text_encoder, "forward")):
            clock.wrap(mod, name)
        todo = items[1:]
        start = time.perf_counter()
        for i in range(0, len(todo), args.batch):
            super_resolve_batch(pipe, todo[i:i + args.batch], records)
        total = time.perf_counter() - start
    return {"benchmark": "sr", "device": "cpu", "stack": "tiny", "images": len(todo), "batch": args.batch,
            "steps": args.steps, "output_px": 512, "threads": torch.get_num_threads(),
            "s_per_image": round(total / len(todo), 3),
            "share_outside_forwards": round(1.0 - clock.seconds / total, 4)}


def gpu(args: argparse.Namespace) -> dict:
    from benchmarks.train import sd21_base_random
    from dalpsr_model.controlnet.model import build_controlnet
    from tests.sr.conftest import smooth_image

    smoke = args.smoke
    device = "cpu" if smoke else "cuda"
    dtype = torch.float32 if smoke else torch.bfloat16
    steps = 2 if smoke else args.gpu_steps
    batches = (1, 2) if smoke else (1, 4, 8)
    with tempfile.TemporaryDirectory(prefix="dalpsr-bench-sr-") as tmp:
        if smoke:
            from dalpsr_model.diffusion.base import load_base
            from dalpsr_model.models.tiny_sd import build_tiny_sd

            base = load_base(build_tiny_sd(Path(tmp) / "sd"))
        else:
            base = sd21_base_random(Path(tmp) / "tokenizer", device, dtype)
        controlnet = build_controlnet(base.unet.float() if smoke else base.unet).to(device=device, dtype=dtype).eval()
        controlnet.requires_grad_(False)
        pipe = SRPipeline(base, controlnet, _cfg(Path(tmp) / "out", steps=steps, device=device), device)
        record = {"benchmark": "sr", "device": device, "stack": "tiny" if smoke else "sd21-random-bf16",
                  "steps": steps, "guidance": pipe.cfg.guidance, "scheduler": pipe.cfg.scheduler, "modes": {}}
        cases = [(f"512px_batch{b}", 128, b) for b in batches] + [("1024px_tiled_batch1", 256, 1)]
        if smoke:  # the tiled path on a 512 px output: a 1024 px VAE pass takes minutes on a CPU
            cases[-1] = ("512px_tile48_batch1", 128, 1)
        for name, side, b in cases:
            if name.startswith("512px_tile48"):
                pipe.cfg = _cfg(Path(tmp) / "out", steps=steps, device=device, tile=48, tile_overlap=16)
            images = [smooth_image(i, side, side) for i in range(b)]
            args_ = (images, ["Deblur with sigma 0.5~0.75"] * b, ["a photo"] * b, [f"k{i}" for i in range(b)])
            pipe(*args_)                                   # warm-up (kernels, allocator)
            if device == "cuda":
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
            t = time.perf_counter()
            pipe(*args_)
            if device == "cuda":
                torch.cuda.synchronize()
            seconds = time.perf_counter() - t
            entry = {"s_per_image": round(seconds / b, 3), "batch": b}
            if device == "cuda":
                entry["peak_gib"] = round(torch.cuda.max_memory_allocated() / 2 ** 30, 2)
            record["modes"][name] = entry
    return record


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    ap.add_argument("--images", type=int, default=3, help="CPU: timed images (after one warm-up image)")
    ap.add_argument("--batch", type=int, default=1, help="CPU: images per batch")
    ap.add_argument("--steps", type=int, default=10, help="CPU: sampler steps")
    ap.add_argument("--gpu-steps", type=int, default=50, help="GPU: sampler steps")
    ap.add_argument("--smoke", action="store_true", help="run the --device cuda code path on CPU, tiny stack")
    args = ap.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        print("error: --device cuda but no CUDA device is visible (use the CPU mode, or --smoke)", file=sys.stderr)
        raise SystemExit(2)
    result = gpu(args) if args.device == "cuda" or args.smoke else cpu_tiny(args)
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
