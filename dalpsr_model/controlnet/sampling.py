"""Short DDIM sampling from the noised LR latent, and the LR | SR | HR validation grid.

The paper (Section IV.B) starts inference from the LR image "with initial noise" instead of
pure noise: z_T = sqrt(abar_T) z_LR + sqrt(1 - abar_T) eps at the first DDIM timestep, then
DDIM steps guided by the ControlNet. The text is the same restoration prompt + caption
budget as in training; ``guidance_scale`` > 1 adds classifier-free guidance with the empty
prompt (what the empty-prompt dropout during training enables).

``guided_noise`` (CFG) and ``denoise_loop`` (the scheduler loop) are the one sampler: the
validation grid here and `dalpsr-sr` (dalpsr_model/sr/sampler.py) both call them.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, Callable, Sequence

from dalpsr_data.atomic import write_bytes_atomic

from .latents import decode, encode_lr
from .model import predict_noise
from .text import batch_prompt_ids, encode_ids

# eps_fn(z (B, 4, h, w) fp32, t scalar timestep) -> eps (B, 4, h, w) fp32
NoiseFn = Callable[[Any, Any], Any]


def guided_noise(base_unet: Any, controlnet: Any, z: Any, t: Any, z_lr: Any, cond: Any, uncond: Any,
                 guidance_scale: float, conditioning_scale: float = 1.0) -> Any:
    """Classifier-free guidance: eps = eps(uncond) + s * (eps(cond) - eps(uncond)), fp32.

    z, z_lr: (B, 4, h, w); t: scalar timestep; cond, uncond: (B, 77, D). With s == 1 only the
    conditional prediction runs; otherwise both run as one batch of 2B.
    """
    import torch

    b = z.shape[0]
    if guidance_scale == 1.0:
        tt = t.reshape(1).repeat(b).to(z.device)
        return predict_noise(base_unet, controlnet, z, tt, cond, z_lr, conditioning_scale).float()
    tt = t.reshape(1).repeat(2 * b).to(z.device)
    both = predict_noise(base_unet, controlnet, torch.cat([z, z]), tt, torch.cat([uncond, cond]),
                         torch.cat([z_lr, z_lr]), conditioning_scale).float()
    eps_u, eps_c = both[:b], both[b:]
    return eps_u + guidance_scale * (eps_c - eps_u)


def denoise_loop(scheduler: Any, z: Any, eps_fn: NoiseFn, generator: Any = None) -> Any:
    """Run ``scheduler``'s timesteps (set_timesteps already called) from ``z``; fp32 latents.

    ``generator``: one torch.Generator, or a list with one per image (a stochastic step such
    as DDPM's then draws each image's noise from its own generator, so an image's result
    does not depend on its batch); schedulers without randomness ignore it.
    """
    import torch

    kwargs = {"generator": generator} if "generator" in inspect.signature(scheduler.step).parameters else {}
    with torch.no_grad():
        for t in scheduler.timesteps:
            z = scheduler.step(eps_fn(z, t), t, z, **kwargs).prev_sample.float()
    return z


def sample_sr(base: Any, controlnet: Any, lr01: Any, hr_size: tuple[int, int],
              restorations: Sequence[str], captions: Sequence[str], num_steps: int = 20,
              guidance_scale: float = 1.0, generator: Any = None) -> Any:
    """LR (B, 3, h, w) [0, 1] -> SR (B, 3, *hr_size) [0, 1] fp32 on CPU (validation grids)."""
    import torch
    from diffusers import DDIMScheduler

    device = base.vae.device
    sched = DDIMScheduler.from_config(base.scheduler_config)
    sched.set_timesteps(num_steps, device=device)
    z_lr = encode_lr(base.vae, lr01.to(device), hr_size)
    noise = torch.randn(z_lr.shape, generator=generator).to(device)
    t0 = sched.timesteps[:1].repeat(z_lr.shape[0])
    z = sched.add_noise(z_lr, noise, t0)
    b = len(restorations)
    ids = [batch_prompt_ids(base.tokenizer, restorations, captions, [drop] * b) for drop in (False, True)]
    cond, uncond = (encode_ids(base.text_encoder, i.to(device)) for i in ids)
    z = denoise_loop(sched, z, lambda z_, t: guided_noise(base.unet, controlnet, z_, t, z_lr, cond, uncond,
                                                          guidance_scale))
    return decode(base.vae, z).cpu()


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


def write_grid_png(path: str | Path, grid: Any) -> Path:
    """Write a (H, W, 3) uint8 grid as PNG, atomically."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(grid).save(buf, format="PNG")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, buf.getvalue())
    return path
