"""The SR sampler of `dalpsr-sr`, the training's validation grid and the web app.

    z_T = sqrt(abar_s) z_LR + sqrt(1 - abar_s) eps,   s = 999 (SeeSR's "LR" start point)

then the scheduler's steps (DDPM by default, 50), each with classifier-free guidance
eps = eps(negative) + 5.5 (eps(prompt) - eps(negative)), the noise prediction tiled over
latents larger than one tile (tiling.py). eps and every stochastic step's noise come from
one CPU generator per image seeded by (seed, image key): an image's output does not
depend on the batch it ran in or on the device's RNG. ``SamplerSettings()`` holds
`dalpsr-sr`'s defaults (SeeSR's test script; docs/sr.md says where each comes from).

Progress: ``on_step(done, total)`` is called after each UNet evaluation of each latent
tile; ``total`` = scheduler steps x latent tiles of one image (the images of a batch go
through the UNet together, so one unit covers every image of the batch).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from dalpsr_data.seeding import seed_for
from dalpsr_model.controlnet.model import predict_noise

from .latents import decode, encode_lr
from .text import prompt_embeddings
from .tiling import tile_count, tiled_predict

NOISE_STREAM = "sr-noise"
SCHEDULERS = ("ddpm", "ddim", "unipc")
NEGATIVE_PROMPT = "dotted, noise, blur, lowres, smooth"
ADDED_PROMPT = "clean, high-resolution, 8k"

# eps_fn(z (B, 4, h, w) fp32, t scalar timestep) -> eps (B, 4, h, w) fp32
NoiseFn = Callable[[Any, Any], Any]
# on_step(done_units, total_units), units = denoising steps x latent tiles
StepCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class SamplerSettings:
    """Everything that decides the sampled latents besides the models and inputs.

    The defaults are `dalpsr-sr`'s (SRConfig reads them from here); validation changes only
    ``steps`` and ``seed``.
    """

    scheduler: str = "ddpm"          # one of SCHEDULERS
    steps: int = 50
    guidance: float = 5.5            # classifier-free guidance scale (1 = conditional only)
    negative_prompt: str = NEGATIVE_PROMPT
    added_prompt: str = ADDED_PROMPT
    start_timestep: int = 999        # -1: the scheduler's first timestep
    conditioning_scale: float = 1.0
    seed: int = 0
    tile: int = 96                   # latent cells
    tile_overlap: int = 32
    tile_batch: int = 16             # tiles x images per UNet call


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


def start_timestep(settings: SamplerSettings, scheduler: Any) -> int:
    """s: settings.start_timestep, or the sampler's first timestep when it is -1."""
    return int(scheduler.timesteps[0]) if settings.start_timestep < 0 else settings.start_timestep


def start_point(noise_scheduler: Any, z_lr: Any, noise: Any, timestep: int) -> Any:
    """sqrt(abar_s) z_LR + sqrt(1 - abar_s) noise, through the training's forward process (fp32)."""
    import torch

    t = torch.full((z_lr.shape[0],), int(timestep), dtype=torch.long)
    return noise_scheduler.add_noise(z_lr.float(), noise.to(z_lr.device).float(), t.to(z_lr.device))


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


def sample_latents(base: Any, controlnet: Any, z_lr: Any, cond: Any, uncond: Any, keys: Sequence[str],
                   settings: SamplerSettings, on_step: StepCallback | None = None) -> Any:
    """z_LR (B, 4, h, w) fp32 -> denoised latents (B, 4, h, w) fp32 for the images ``keys``.

    ``on_step(done, total)`` after each UNet evaluation of each latent tile (module docstring).
    """
    import torch

    s = settings
    device = z_lr.device
    scheduler = make_scheduler(s.scheduler, base.scheduler_config, s.steps, device)
    generators = [image_generator(s.seed, k) for k in keys]
    noise = torch.cat([torch.randn((1, *z_lr.shape[1:]), generator=g) for g in generators])
    z = start_point(base.noise_scheduler, z_lr, noise, start_timestep(s, scheduler))
    total = len(scheduler.timesteps) * tile_count(*z_lr.shape[-2:], s.tile, s.tile_overlap)
    done = 0

    def tiles_done(n: int) -> None:
        nonlocal done
        for _ in range(n):  # one call per tile, so a caller sees every unit
            done += 1
            on_step(done, total)

    def eps_fn(z_t: Any, t: Any) -> Any:
        def model(zs: Any, cs: Any, repeats: int) -> Any:
            return guided_noise(base.unet, controlnet, zs, t, cs, cond.repeat(repeats, 1, 1),
                                uncond.repeat(repeats, 1, 1), s.guidance, s.conditioning_scale)

        return tiled_predict(model, z_t, z_lr, s.tile, s.tile_overlap, s.tile_batch,
                             tiles_done if on_step is not None else None)

    return denoise_loop(scheduler, z, eps_fn, generators)


def sample_images(base: Any, controlnet: Any, lr01: Any, size: tuple[int, int], restorations: Sequence[str],
                  captions: Sequence[str], keys: Sequence[str], settings: SamplerSettings,
                  on_step: StepCallback | None = None) -> Any:
    """LR (B, 3, h, w) [0, 1] -> SR (B, 3, *size) fp32 [0, 1] on the VAE's device.

    z_LR is the training's ``encode_lr`` (bicubic to ``size`` (H, W), a multiple of 8), the
    text the restoration prompt + caption + added prompt against the negative prompt.
    """
    z_lr = encode_lr(base.vae, lr01, size)
    cond, uncond = prompt_embeddings(base, restorations, captions, settings.added_prompt,
                                     settings.negative_prompt)
    z = sample_latents(base, controlnet, z_lr, cond, uncond, keys, settings, on_step)
    return decode(base.vae, z)
