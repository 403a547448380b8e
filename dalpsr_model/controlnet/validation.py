"""Validation during training: LR | SR | HR grid PNG + PSNR on a fixed set of samples.

The samples are the first ``val_samples`` of the first build shard (tar order, joined with
their captions by ``BuildInfo.iter_samples``), decoded with the loader's own decoder at the
build's geometry, so every validation of a run (and of a resumed run) sees
the same images. With ``--crop`` they are centre-cropped to the training size. Sampling
uses a generator seeded by (seed, "validation") and never touches the global RNG, so a
validation step does not change the training that follows it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from dalpsr_data.buildinfo import BuildInfo
from dalpsr_model.data.decode import CorruptSample, decode_sample

from .config import ControlNetConfig
from .sampling import grid_image, sample_sr, write_grid_png
from .step import step_generator


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
                sr = sample_sr(self.base, model, s["lr"], tuple(s["hr"].shape[-2:]), s["prompt"],
                               s["caption"] if self.cfg.use_captions else [""] * len(s["prompt"]),
                               num_steps=self.cfg.val_steps, guidance_scale=self.cfg.val_guidance,
                               generator=step_generator(self.cfg.seed, 0, 0, "validation"))
            model.train(was_training)
            grid = grid_image(s["lr"], sr, s["hr"])
            write_grid_png(self.dir / f"step-{step:08d}.png", grid)
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
