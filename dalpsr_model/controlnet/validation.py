"""Validation during training: LR | SR | HR grid PNG + PSNR on a fixed set of samples.

The samples are the first ``val_samples`` of the first build shard (tar order, joined with
their captions by ``BuildInfo.iter_samples``), decoded with the loader's own decoder at the
build's geometry, so every validation of a run (and of a resumed run) sees
the same images. With ``--crop`` they are centre-cropped to the training size.

The SR is what `dalpsr-sr` would give at the HR size: its sampler
(dalpsr_model.diffusion.sampler) with its defaults (DDPM, guidance 5.5 against the negative
prompt, the added prompt, start at t = 999 of the noised LR latent, latent tiles) and its
default colour fix; only the step count is ``--val-steps``. Each image's noise comes from a
generator seeded by (seed, sample key) and never from the global RNG, so a validation step
does not change the training that follows it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from dalpsr_data.buildinfo import BuildInfo
from dalpsr_data.image_io import write_png
from dalpsr_model.data.decode import CorruptSample, decode_sample
from dalpsr_model.diffusion.latents import upsample_lr
from dalpsr_model.diffusion.sampler import SamplerSettings, sample_images
from dalpsr_model.sr.colorfix import DEFAULT_COLOR_FIX, color_fix

from .config import ControlNetConfig


def load_val_samples(build: BuildInfo | str | Path, n: int, crop: int = 0) -> dict[str, Any]:
    """{"lr": (n,3,h,w), "hr": (n,3,H,W) float32 [0,1], "prompt", "caption": lists}; H = crop
    or the build's patch size, h = H / its scale."""
    import torch

    build = BuildInfo.of(build)
    first = build.urls[0]
    fields = ("lr", "hr", "prompt", "caption", "key")
    samples = []
    for key, members, record in build.iter_samples([0], captions="optional"):
        try:
            samples.append(decode_sample(key, members, str(record.get("caption", "") or ""),
                                         fields, hr_signed=False, geometry=build.geometry))
        except CorruptSample:  # the loader skips it too; take the next one
            continue
        if len(samples) == n:
            break
    if not samples:
        raise ValueError(f"no decodable sample in {first} for the validation grid; check the build")
    hr = torch.stack([s["hr"] for s in samples])
    lr = torch.stack([s["lr"] for s in samples])
    if crop:
        s = build.scale
        top = (hr.shape[-1] - crop) // 2 // s * s
        hr = hr[..., top:top + crop, top:top + crop]
        lr = lr[..., top // s:(top + crop) // s, top // s:(top + crop) // s]
    return {"lr": lr, "hr": hr, "prompt": [s["prompt"] for s in samples],
            "caption": [s["caption"] for s in samples], "key": [s["key"] for s in samples]}


def grid_image(lr01: Any, sr01: Any, hr01: Any) -> Any:
    """One row per sample: LR (nearest-upsampled) | SR | HR -> (rows*H, 3*W, 3) uint8."""
    import torch
    import torch.nn.functional as F

    size = tuple(hr01.shape[-2:])
    lr_up = F.interpolate(lr01.float().cpu(), size=size, mode="nearest")
    rows = [torch.cat([lr_up[i], sr01[i].cpu(), hr01[i].float().cpu()], dim=2)
            for i in range(hr01.shape[0])]
    grid = torch.cat(rows, dim=1).clamp(0, 1)
    return (grid.permute(1, 2, 0) * 255.0 + 0.5).to(torch.uint8).numpy()


def validation_sr(base: Any, controlnet: Any, samples: dict[str, Any], steps: int, seed: int,
                  use_captions: bool) -> Any:
    """SR (n, 3, H, W) fp32 [0, 1] on CPU of ``load_val_samples``' output, as `dalpsr-sr`
    samples it (its defaults, ``steps`` steps) at the HR size, colour-fixed as it does."""
    device = base.vae.device
    lr = samples["lr"].to(device)
    size = tuple(samples["hr"].shape[-2:])
    captions = samples["caption"] if use_captions else [""] * len(samples["prompt"])
    settings = SamplerSettings(steps=steps, seed=seed)
    sr = sample_images(base, controlnet, lr, size, samples["prompt"], captions, samples["key"], settings)
    return color_fix(sr, upsample_lr(lr.float(), size), DEFAULT_COLOR_FIX).clamp(0.0, 1.0).cpu()


def psnr(a: Any, b: Any) -> float:
    """PSNR in dB of two [0, 1] tensors (inf when equal)."""
    mse = float(((a.float() - b.float()) ** 2).mean())
    return float("inf") if mse == 0 else 10.0 * math.log10(1.0 / mse)


class Validator:
    """``validator(step) -> {"psnr": dB}``; writes OUT/validation/step-XXXXXXXX.png (main process)."""

    def __init__(self, cfg: ControlNetConfig, base: Any, controlnet: Any, accelerator: Any,
                 build: BuildInfo | None = None) -> None:
        self.cfg, self.base, self.controlnet, self.acc = cfg, base, controlnet, accelerator
        self.samples = load_val_samples(build if build is not None else cfg.shards, cfg.val_samples, cfg.crop)
        self.dir = Path(cfg.out) / "validation"
        self._writer = None

    def __call__(self, step: int) -> dict[str, float]:
        metrics: dict[str, float] = {}
        if self.acc.is_main_process:
            s = self.samples
            model = self.acc.unwrap_model(self.controlnet)
            was_training = model.training
            model.eval()
            with self.acc.autocast():
                sr = validation_sr(self.base, model, s, self.cfg.val_steps, self.cfg.seed, self.cfg.use_captions)
            model.train(was_training)
            grid = grid_image(s["lr"], sr, s["hr"])
            write_png(self.dir / f"step-{step:08d}.png", grid)
            self._log_image(step, grid)
            metrics["psnr"] = psnr(sr, s["hr"])
        self.acc.wait_for_everyone()
        return metrics

    def _log_image(self, step: int, grid: Any) -> None:
        if self._writer is None:
            from torch.utils.tensorboard import SummaryWriter

            # A second event file in OUT/tb next to the Trainer's scalars; tensorboard merges them.
            self._writer = SummaryWriter(log_dir=str(Path(self.cfg.out) / "tb"), filename_suffix=".images")
        self._writer.add_image("val/lr_sr_hr", grid, step, dataformats="HWC")
        self._writer.flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
