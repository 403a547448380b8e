"""Pass 2's diffusion: start point, guided noise prediction (tiled when large), scheduler loop.

    z_T = sqrt(abar_s) z_LR + sqrt(1 - abar_s) eps,   s = 999 (SeeSR's "LR" start point)

then the scheduler's steps (DDPM by default, 50), each with classifier-free guidance
eps = eps(negative) + 5.5 (eps(prompt) - eps(negative)). eps and every stochastic step's
noise come from one CPU generator per image seeded by (seed, image key): an image's output
does not depend on the batch it ran in or on the device's RNG. The loop itself is the
ControlNet's one sampler (dalpsr_model.controlnet.sampling.denoise_loop / guided_noise).
"""

from __future__ import annotations

from typing import Any, Sequence

from dalpsr_data.seeding import seed_for
from dalpsr_model.controlnet.sampling import denoise_loop, guided_noise
from dalpsr_model.controlnet.text import budget_prompt, encode_ids

from .config import SRConfig
from .tiling import tiled_predict

NOISE_STREAM = "sr-noise"


def image_generator(seed: int, key: str) -> Any:
    """A CPU torch.Generator seeded by (seed, image key)."""
    import torch

    g = torch.Generator(device="cpu")
    g.manual_seed(seed_for(seed, key, NOISE_STREAM) % (2 ** 63))
    return g


def make_scheduler(name: str, scheduler_config: dict[str, Any], steps: int, device: Any = "cpu") -> Any:
    """DDPM / DDIM / UniPC built from the base's scheduler config, timesteps set."""
    from diffusers import DDIMScheduler, DDPMScheduler, UniPCMultistepScheduler

    cls = {"ddpm": DDPMScheduler, "ddim": DDIMScheduler, "unipc": UniPCMultistepScheduler}[name]
    sched = cls.from_config(scheduler_config)
    sched.set_timesteps(steps, device=device)
    return sched


def start_timestep(cfg: SRConfig, scheduler: Any) -> int:
    """s: cfg.start_timestep, or the sampler's first timestep when it is -1."""
    return int(scheduler.timesteps[0]) if cfg.start_timestep < 0 else cfg.start_timestep


def start_point(noise_scheduler: Any, z_lr: Any, noise: Any, timestep: int) -> Any:
    """sqrt(abar_s) z_LR + sqrt(1 - abar_s) noise, through the training's forward process (fp32)."""
    import torch

    t = torch.full((z_lr.shape[0],), int(timestep), dtype=torch.long)
    return noise_scheduler.add_noise(z_lr.float(), noise.to(z_lr.device).float(), t.to(z_lr.device))


def positive_ids(tokenizer: Any, restoration: str, caption: str, added_prompt: str) -> tuple[int, ...]:
    """77 ids: restoration prompt first (never cut), then the caption, then the added prompt
    while tokens remain (the training's budget function; the tail is cut first)."""
    tail = ", ".join(p for p in (caption.strip(), added_prompt.strip()) if p)
    return budget_prompt(tokenizer, restoration, tail).ids


def prompt_embeddings(base: Any, restorations: Sequence[str], captions: Sequence[str],
                      cfg: SRConfig) -> tuple[Any, Any]:
    """(cond, uncond) (B, 77, D): positive_ids per image; uncond is the negative prompt."""
    import torch

    ids = [positive_ids(base.tokenizer, r, c, cfg.added_prompt) for r, c in zip(restorations, captions)]
    neg = budget_prompt(base.tokenizer, cfg.negative_prompt, "").ids
    device = base.text_encoder.device
    cond = encode_ids(base.text_encoder, torch.tensor(ids, dtype=torch.long, device=device))
    uncond = encode_ids(base.text_encoder, torch.tensor([neg], dtype=torch.long, device=device))
    return cond, uncond.expand(len(ids), -1, -1)


def sample_latents(base: Any, controlnet: Any, z_lr: Any, cond: Any, uncond: Any, keys: Sequence[str],
                   cfg: SRConfig) -> Any:
    """z_LR (B, 4, h, w) fp32 -> denoised latents (B, 4, h, w) fp32 for the images ``keys``."""
    import torch

    device = z_lr.device
    scheduler = make_scheduler(cfg.scheduler, base.scheduler_config, cfg.steps, device)
    generators = [image_generator(cfg.seed, k) for k in keys]
    noise = torch.cat([torch.randn((1, *z_lr.shape[1:]), generator=g) for g in generators])
    z = start_point(base.noise_scheduler, z_lr, noise, start_timestep(cfg, scheduler))

    def eps_fn(z_t: Any, t: Any) -> Any:
        def model(zs: Any, cs: Any, repeats: int) -> Any:
            return guided_noise(base.unet, controlnet, zs, t, cs, cond.repeat(repeats, 1, 1),
                                uncond.repeat(repeats, 1, 1), cfg.guidance, cfg.conditioning_scale)

        return tiled_predict(model, z_t, z_lr, cfg.tile, cfg.tile_overlap, cfg.tile_batch)

    return denoise_loop(scheduler, z, eps_fn, generators)
