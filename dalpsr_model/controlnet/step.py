"""One DaLPSR ControlNet training step: the epsilon-prediction loss of Eq. 3.

    L = E_{z0, t, tau, z_LR, eps ~ N(0, I)} || eps - eps_theta(z_t, t, tau, z_LR) ||^2
    z_t = sqrt(abar_t) z0 + sqrt(1 - abar_t) eps          (DDPM forward process)

All randomness of a step (timesteps, noise, empty-prompt draws) comes from a generator
seeded by (seed, global step, rank), never from global state: a resumed run draws exactly
what the uninterrupted run drew, whatever the RNG state restored with the checkpoint.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

from dalpsr_data.seeding import seed_for
from dalpsr_model.diffusion.latents import encode_pair
from dalpsr_model.diffusion.text import batch_prompt_ids, encode_ids

from .model import predict_noise


@dataclasses.dataclass
class Batch:
    """What a step needs. Either images (hr01/lr01) or cached latents (z0/z_lr) are set.

    hr01: (B, 3, H, W) float [0, 1]; lr01: (B, 3, H/4, W/4) float [0, 1];
    z0, z_lr: (B, 4, H/8, W/8) fp32 scaled latents; restorations/captions: B strings.
    """

    keys: list[str]
    restorations: list[str]
    captions: list[str]
    hr01: Any = None
    lr01: Any = None
    z0: Any = None
    z_lr: Any = None

    def __len__(self) -> int:
        return len(self.keys)


def step_generator(seed: int, global_step: int, rank: int = 0) -> Any:
    """A CPU torch.Generator for one step; values do not depend on the device used."""
    import torch

    g = torch.Generator(device="cpu")
    g.manual_seed(seed_for(seed, f"step-{global_step}", f"train-rank-{rank}") % (2 ** 63))
    return g


def draw_step_noise(noise_scheduler: Any, shape: Sequence[int], empty_prompt_prob: float,
                    generator: Any) -> tuple[Any, Any, list[bool]]:
    """(timesteps (B,) int64, noise (B, 4, h, w) fp32, empty-prompt flags) drawn from ``generator``."""
    import torch

    b = shape[0]
    t = torch.randint(0, noise_scheduler.config.num_train_timesteps, (b,), generator=generator)
    noise = torch.randn(tuple(shape), generator=generator)
    drop = (torch.rand(b, generator=generator) < empty_prompt_prob).tolist()
    return t.long(), noise, drop


def latents_for(base: Any, batch: Batch, device: Any) -> tuple[Any, Any]:
    """(z0, z_LR) on ``device`` from the cache when present, else through the frozen VAE."""
    if batch.z0 is not None:
        return batch.z0.to(device), batch.z_lr.to(device)
    z0, z_lr = encode_pair(base.vae, batch.hr01.to(device), batch.lr01.to(device))
    return z0, z_lr


def compute_loss(base: Any, controlnet: Any, batch: Batch, generator: Any,
                 empty_prompt_prob: float, device: Any) -> Any:
    """Scalar fp32 loss of Eq. 3 for one batch (the graph reaches only the ControlNet)."""
    import torch.nn.functional as F

    z0, z_lr = latents_for(base, batch, device)
    t, noise, drop = draw_step_noise(base.noise_scheduler, z0.shape, empty_prompt_prob, generator)
    t, noise = t.to(device), noise.to(device)
    z_t = base.noise_scheduler.add_noise(z0, noise, t)
    ids = batch_prompt_ids(base.tokenizer, batch.restorations, batch.captions, drop)
    text_emb = encode_ids(base.text_encoder, ids.to(device))
    eps_hat = predict_noise(base.unet, controlnet, z_t, t, text_emb, z_lr)
    return F.mse_loss(eps_hat.float(), noise.float(), reduction="mean")


def random_crop(hr01: Any, lr01: Any, size: int, scale: int, generator: Any) -> tuple[Any, Any]:
    """Aligned random crops: HR (B,3,size,size) and LR (B,3,size/scale,size/scale).

    HR offsets are multiples of ``scale`` so the LR crop covers exactly the same scene.
    Offsets come from ``generator`` (one draw per sample), so they replay on resume.
    """
    import torch

    if size >= hr01.shape[-1]:
        return hr01, lr01
    cells = (hr01.shape[-1] - size) // scale + 1
    ys = torch.randint(0, cells, (hr01.shape[0],), generator=generator).tolist()
    xs = torch.randint(0, cells, (hr01.shape[0],), generator=generator).tolist()
    small = size // scale
    hr = torch.stack([h[:, y * scale:y * scale + size, x * scale:x * scale + size]
                      for h, y, x in zip(hr01, ys, xs)])
    lr = torch.stack([l_[:, y:y + small, x:x + small] for l_, y, x in zip(lr01, ys, xs)])
    return hr, lr
