"""Benchmark: DaLPSR ControlNet training steps/s and samples/s. Prints one JSON line.

Times full optimizer steps (Eq. 3 forward, backward, clipping, AdamW) on random images,
three ways, all with the same frozen base:

* ``dalpsr``        our step: VAE-encode HR and the upsampled LR (z_LR) inside the step;
* ``dalpsr_cached`` our step with the latent cache: latents given, no VAE in the step;
* ``plain``         a diffusers train_controlnet-style step: stock ControlNet whose hint
                    embedding takes the 512 px RGB image, HR encoded with a posterior
                    sample, text truncated by the tokenizer.

Stacks: ``--stack tiny`` (default; the test stack, CPU, fp32) or ``--stack sd21``: the real
SD 2.1-base architecture from its public config values with random weights (nothing is
downloaded), meant for a GPU: bf16 frozen parts, fp32 ControlNet, batch 4 and the largest
batch that fits (doubling until out of memory), peak memory per mode.

    .venv/bin/python benchmarks/train.py [--stack tiny] [--resolution 256] [--batch 2] [--steps 5]
    python benchmarks/train.py --stack sd21 --device cuda --resolution 512 --batch 4 --find-max-batch

Data loading is not included (benchmarks/loader.py measures it).
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
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.support, dalpsr_*

import torch  # noqa: E402

MODES = ("dalpsr", "dalpsr_cached", "plain")


def sd21_base_random(tokenizer_dir: Path, device: str, dtype: torch.dtype):
    """SD 2.1-base architecture (public config values), random weights, as an SDBase."""
    from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    from dalpsr_model.diffusion.base import SDBase
    from dalpsr_model.models.tiny_sd import SD21_SCHEDULER, write_tokenizer

    unet = UNet2DConditionModel(
        sample_size=64, in_channels=4, out_channels=4, layers_per_block=2,
        block_out_channels=(320, 640, 1280, 1280), attention_head_dim=(5, 10, 20, 20),
        down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
        up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
        cross_attention_dim=1024, use_linear_projection=True)
    vae = AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4, layers_per_block=2,
        block_out_channels=(128, 256, 512, 512), sample_size=512,
        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4)
    text = CLIPTextModel(CLIPTextConfig(
        vocab_size=49408, hidden_size=1024, intermediate_size=4096, num_hidden_layers=23,
        num_attention_heads=16, max_position_embeddings=77, hidden_act="gelu", projection_dim=512))
    write_tokenizer(tokenizer_dir)  # byte-level stand-in: the encoder cost depends only on 77 ids
    tokenizer = CLIPTokenizer.from_pretrained(tokenizer_dir, local_files_only=True)
    for m in (unet, vae, text):
        m.requires_grad_(False).eval().to(device=device, dtype=dtype)
    return SDBase(unet=unet, vae=vae, text_encoder=text, tokenizer=tokenizer,
                  noise_scheduler=DDPMScheduler.from_config(SD21_SCHEDULER),
                  scheduler_config=dict(SD21_SCHEDULER), path=Path("random-sd21"))


def tiny_base(folder: Path):
    from dalpsr_model.diffusion.base import load_base
    from dalpsr_model.models.tiny_sd import build_tiny_sd

    return load_base(build_tiny_sd(folder / "tiny"))


def plain_loss(base, controlnet, batch, generator):
    """diffusers train_controlnet-style loss: RGB hint, posterior sample, truncated text."""
    import torch.nn.functional as F

    dev = base.vae.device
    with torch.no_grad():
        hr = (batch.hr01.to(dev) * 2 - 1).to(base.vae.dtype)
        z0 = base.vae.encode(hr).latent_dist.sample() * base.vae.config.scaling_factor
        ids = base.tokenizer([f"{c}, {r}" for r, c in zip(batch.restorations, batch.captions)],
                             padding="max_length", truncation=True, max_length=77,
                             return_tensors="pt").input_ids.to(dev)
        text = base.text_encoder(ids, return_dict=False)[0]
    z0 = z0.float()
    noise = torch.randn(z0.shape, generator=generator).to(dev)
    t = torch.randint(0, 1000, (z0.shape[0],), generator=generator).to(dev)
    z_t = base.noise_scheduler.add_noise(z0, noise, t)
    hint = F.interpolate(batch.lr01.to(dev), size=batch.hr01.shape[-2:], mode="bicubic")
    down, mid = controlnet(z_t, t, encoder_hidden_states=text.float(), controlnet_cond=hint,
                           return_dict=False)
    udt = base.unet.dtype
    eps = base.unet(z_t.to(udt), t, encoder_hidden_states=text, return_dict=False,
                    down_block_additional_residuals=[d.to(udt) for d in down],
                    mid_block_additional_residual=mid.to(udt))[0]
    return F.mse_loss(eps.float(), noise)


def time_mode(base, mode: str, batch_size: int, res: int, steps: int, device: str,
              autocast_dtype, grad_ckpt: bool) -> dict:
    """Steps/s, samples/s and peak memory of ``steps`` timed optimizer steps (after 2 warm-up)."""
    from diffusers import ControlNetModel

    from dalpsr_model.diffusion.latents import encode_pair
    from dalpsr_model.controlnet.model import build_controlnet
    from dalpsr_model.controlnet.step import Batch, compute_loss, step_generator

    if mode == "plain":
        cn = ControlNetModel.from_unet(base.unet).float().to(device)
    else:
        cn = build_controlnet(base.unet).to(device)
    if grad_ckpt:
        cn.enable_gradient_checkpointing()
    cn.train()
    opt = torch.optim.AdamW(cn.parameters(), lr=1e-5, weight_decay=0.0)
    g = torch.Generator().manual_seed(0)
    batch = Batch(keys=[str(i) for i in range(batch_size)],
                  restorations=["Deblur with sigma 1.0~2.0, denoise with sigma 10~20"] * batch_size,
                  captions=["a photo of a red flower in a green garden"] * batch_size,
                  hr01=torch.rand(batch_size, 3, res, res, generator=g),
                  lr01=torch.rand(batch_size, 3, res // 4, res // 4, generator=g))
    if mode == "dalpsr_cached":  # what the cache holds: computed once, outside the step
        batch.z0, batch.z_lr = (z.cpu() for z in encode_pair(base.vae, batch.hr01.to(device), batch.lr01.to(device)))
    cuda = device.startswith("cuda")
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    for i in range(steps + 2):
        if i == 2:
            if cuda:
                torch.cuda.synchronize()
            t0 = time.perf_counter()
        with torch.autocast(device_type="cuda" if cuda else "cpu", dtype=autocast_dtype,
                            enabled=autocast_dtype is not None):
            gen = step_generator(0, i)
            loss = plain_loss(base, cn, batch, gen) if mode == "plain" else \
                compute_loss(base, cn, batch, gen, 0.1, device)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(cn.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
    if cuda:
        torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    out = {"steps_per_s": round(steps / dt, 4), "samples_per_s": round(steps * batch_size / dt, 3),
           "loss_finite": bool(torch.isfinite(loss).item())}
    if cuda:
        out["peak_mem_gib"] = round(torch.cuda.max_memory_allocated() / 2 ** 30, 2)
    del cn, opt
    return out


def max_batch(base, mode, start, args, device, autocast_dtype) -> tuple[int, dict]:
    """Double the batch until CUDA runs out of memory; the last one that ran and its timing."""
    best, result, b = start, None, start
    while b <= 1024:
        try:
            result = time_mode(base, mode, b, args.resolution, args.steps, device, autocast_dtype, args.grad_ckpt)
            best = b
            b *= 2
        except torch.cuda.OutOfMemoryError:
            break
        finally:
            torch.cuda.empty_cache()
    return best, result or {}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stack", choices=("tiny", "sd21"), default="tiny", help="tiny test stack or the real SD 2.1-base architecture (random weights)")
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--resolution", type=int, default=256, help="HR patch side in px (the paper: 512)")
    ap.add_argument("--batch", type=int, default=2, help="samples per step")
    ap.add_argument("--steps", type=int, default=5, help="timed steps per mode (after 2 warm-up steps)")
    ap.add_argument("--modes", default=",".join(MODES), help=f"comma-separated subset of {MODES}")
    ap.add_argument("--grad-ckpt", action="store_true", help="gradient checkpointing in the ControlNet")
    ap.add_argument("--find-max-batch", action="store_true", help="(CUDA) also report the largest batch that fits per mode")
    args = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    cuda = args.device.startswith("cuda")
    frozen_dtype = torch.bfloat16 if cuda else torch.float32
    with tempfile.TemporaryDirectory() as tmp:
        if args.stack == "tiny":
            base = tiny_base(Path(tmp))
            base.cast(frozen_dtype)
            for m in (base.unet, base.vae, base.text_encoder):
                m.to(args.device)
        else:
            base = sd21_base_random(Path(tmp) / "tokenizer", args.device, frozen_dtype)
        record = {"benchmark": "train", "stack": args.stack, "device": args.device,
                  "resolution": args.resolution, "batch": args.batch, "grad_ckpt": args.grad_ckpt,
                  "frozen_dtype": str(frozen_dtype).removeprefix("torch."),
                  "threads": torch.get_num_threads(), "modes": {}}
        autocast_dtype = torch.bfloat16 if cuda else None
        for mode in args.modes.split(","):
            r = time_mode(base, mode, args.batch, args.resolution, args.steps, args.device,
                          autocast_dtype, args.grad_ckpt)
            if args.find_max_batch and cuda:
                r["max_batch"], r["at_max_batch"] = max_batch(base, mode, args.batch * 2, args, args.device, autocast_dtype)
            record["modes"][mode] = r
    print(json.dumps(record))


if __name__ == "__main__":
    main()
