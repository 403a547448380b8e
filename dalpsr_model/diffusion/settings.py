"""The sampler's settings, apart from the sampler so that option parsing imports no torch.

``SamplerSettings()`` holds `dalpsr-sr`'s defaults (SeeSR's test script; docs/sr.md says
where each comes from); the training's validation changes only ``steps`` and ``seed``.
"""

from __future__ import annotations

from dataclasses import dataclass

SCHEDULERS = ("ddpm", "ddim", "unipc")
NEGATIVE_PROMPT = "dotted, noise, blur, lowres, smooth"
ADDED_PROMPT = "clean, high-resolution, 8k"


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
