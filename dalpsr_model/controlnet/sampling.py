"""Short DDIM sampling from the noised LR latent, and the LR | SR | HR validation grid.

The paper (Section IV.B) starts inference from the LR image "with initial noise" instead of
pure noise: z_T = sqrt(abar_T) z_LR + sqrt(1 - abar_T) eps at the first DDIM timestep, then
DDIM steps guided by the ControlNet. The text is the same restoration prompt + caption
budget as in training; ``guidance_scale`` > 1 adds classifier-free guidance with the empty
prompt (what the empty-prompt dropout during training enables).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from .latents import encode, upsample_lr
from .model import predict_noise
from .text import batch_prompt_ids, encode_ids


def sample_sr(base: Any, controlnet: Any, lr01: Any, hr_size: tuple[int, int],
              restorations: Sequence[str], captions: Sequence[str], num_steps: int = 20,
              guidance_scale: float = 1.0, generator: Any = None) -> Any:
    """LR (B, 3, h, w) [0, 1] -> SR (B, 3, *hr_size) [0, 1] fp32 on CPU."""
    import torch
    from diffusers import DDIMScheduler

    device = base.vae.device
    sched = DDIMScheduler.from_config(base.scheduler_config)
    sched.set_timesteps(num_steps, device=device)
    z_lr = encode(base.vae, upsample_lr(lr01.to(device), hr_size))
    noise = torch.randn(z_lr.shape, generator=generator).to(device)
    t0 = sched.timesteps[:1].repeat(z_lr.shape[0])
    z = sched.add_noise(z_lr, noise, t0)
    b = len(restorations)
    ids = [batch_prompt_ids(base.tokenizer, restorations, captions, [drop] * b) for drop in (False, True)]
    cond, uncond = (encode_ids(base.text_encoder, i.to(device)) for i in ids)
    with torch.no_grad():
        for t in sched.timesteps:
            tt = t.repeat(b).to(device)
            eps = predict_noise(base.unet, controlnet, z, tt, cond, z_lr).float()
            if guidance_scale != 1.0:
                eps_u = predict_noise(base.unet, controlnet, z, tt, uncond, z_lr).float()
                eps = eps_u + guidance_scale * (eps - eps_u)
            z = sched.step(eps, t, z).prev_sample
        x = base.vae.decode((z / base.vae.config.scaling_factor).to(base.vae.dtype)).sample
    return ((x.float().cpu() + 1.0) / 2.0).clamp(0.0, 1.0)


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

    from dalpsr_data.atomic import write_bytes_atomic

    buf = io.BytesIO()
    Image.fromarray(grid).save(buf, format="PNG")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, buf.getvalue())
    return path
