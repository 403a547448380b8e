"""SRPipeline: LR images + prompts -> SR images (pass 2), on the frozen SD base + ControlNet.

    pipe = SRPipeline.load(SRConfig(inputs=("x",), out="o", base=..., controlnet=..., irpad=...))
    srs = pipe([lr_uint8_hw3, ...], restorations, captions, keys)   # uint8 (4h, 4w, 3) each

For one batch (all images with the same size plan, sizes.py):
1. an LR with a short side under 128 px is resized (bicubic) to short side 128;
2. z_LR = the training's ``encode_lr`` (bicubic upsample to the target, VAE posterior mean
   x scaling factor): ControlNet condition and start point;
3. dalpsr_model.diffusion.sampler: z_T from the noised z_LR, CFG steps (latent tiles
   above 96 x 96 latents), ``on_step(done, total)`` after each UNet evaluation of a tile;
4. VAE decode (diffusers' tiled VAE above --vae-tiling-above px), colour fix against the
   upsampled LR, resize to exactly 4x the LR (antialiased bicubic), round to uint8.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from dalpsr_data.config_io import ConfigError
from dalpsr_model.controlnet.model import load_controlnet
from dalpsr_model.diffusion.base import load_base
from dalpsr_model.diffusion.latents import images_to_unit, upsample_lr
from dalpsr_model.diffusion.sampler import StepCallback, sample_images

from .colorfix import color_fix
from .config import SRConfig
from .sizes import plan_size

CONTROLNET_DIR = "controlnet"


def resolve_controlnet_dir(path: str | Path) -> Path:
    """The diffusers ControlNet folder: ``path`` itself or ``path/controlnet`` (a training run)."""
    p = Path(path)
    for candidate in (p, p / CONTROLNET_DIR):
        if (candidate / "config.json").is_file() and any(candidate.glob("*.safetensors")):
            return candidate
    raise ConfigError(f"--controlnet {p}: neither it nor {p / CONTROLNET_DIR} holds a ControlNet "
                      f"(config.json + *.safetensors); give the output folder of `dalpsr-train controlnet`")


def resolve_device(cfg: SRConfig) -> tuple[str, Any]:
    """(device, weights dtype): auto picks cuda when visible; bf16 on cuda, fp32 on cpu."""
    import torch

    device = cfg.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda but no CUDA device is visible: use --device cpu")
    name = cfg.dtype if cfg.dtype != "auto" else ("bf16" if device == "cuda" else "fp32")
    return device, {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[name]


def to_uint8(x01: Any) -> list[Any]:
    """(B, 3, H, W) [0, 1] -> B arrays (H, W, 3) uint8, rounded."""
    import torch

    arr = (x01.clamp(0, 1) * 255.0).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
    return list(arr)


class SRPipeline:
    """Frozen base + ControlNet on one device; ``__call__`` super-resolves one batch."""

    def __init__(self, base: Any, controlnet: Any, cfg: SRConfig, device: str) -> None:
        self.base, self.controlnet, self.cfg, self.device = base, controlnet, cfg, device

    @classmethod
    def load(cls, cfg: SRConfig, device: str | None = None) -> "SRPipeline":
        """Load the models of ``cfg`` (offline) on ``device`` (default: cfg's resolved device)."""
        dev, dtype = resolve_device(cfg)
        device = device or dev
        base = load_base(cfg.base, device, dtype)
        controlnet = load_controlnet(resolve_controlnet_dir(cfg.controlnet))
        controlnet.requires_grad_(False).eval().to(device=device)
        if controlnet.dtype != dtype:  # saved in fp32; bf16/fp16 on a GPU
            controlnet.to(dtype=dtype)
        return cls(base, controlnet, cfg, device)

    def __call__(self, images: Sequence[Any], restorations: Sequence[str], captions: Sequence[str],
                 keys: Sequence[str], on_step: StepCallback | None = None) -> list[Any]:
        """LR (H, W, 3) uint8 arrays of one size -> SR (4H, 4W, 3) uint8 arrays.

        ``keys`` seed each image's noise (the same key gives the same SR in any batch).
        ``on_step(done, total)``: the sampler's progress, units = steps x latent tiles.
        """
        import numpy as np
        import torch
        import torch.nn.functional as F

        sizes = {tuple(im.shape[:2]) for im in images}
        if len(sizes) != 1:
            raise ValueError(f"one batch needs images of one size, got {sorted(sizes)}")
        (h, w), = sizes
        plan = plan_size(w, h)
        lr01 = images_to_unit(np.stack(images)).to(self.device)
        if plan.lr_work != plan.lr:
            lr01 = upsample_lr(lr01, (plan.lr_work[1], plan.lr_work[0]))
        target = (plan.target[1], plan.target[0])
        vae = self.base.vae
        if max(plan.target) > self.cfg.vae_tiling_above:
            vae.enable_tiling()
        else:
            vae.disable_tiling()
        with torch.no_grad():
            sr = sample_images(self.base, self.controlnet, lr01, target, restorations, captions, keys,
                               self.cfg.sampler, on_step)
            sr = color_fix(sr, upsample_lr(lr01, target).float(), self.cfg.color_fix).clamp(0.0, 1.0)
            final = (plan.final[1], plan.final[0])
            if final != target:
                sr = F.interpolate(sr, size=final, mode="bicubic", align_corners=False, antialias=True)
        return to_uint8(sr)
