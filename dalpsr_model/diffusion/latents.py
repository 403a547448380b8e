"""VAE latents of images in [0, 1]: the one encoder/decoder of training, validation and SR.

Latents are the VAE posterior *mean* times the VAE scaling factor (0.18215 for SD). The
mean (not a posterior sample) makes a latent a pure function of the image, so a cached
latent (dalpsr_model.controlnet.latent_cache) equals a fresh one and a cached run's loss
equals an uncached run's. SD's posterior std is ~1e-2 of the latent scale, so the sample
would add little anyway.
"""

from __future__ import annotations

from typing import Any


def images_to_unit(images: Any) -> Any:
    """(B, H, W, 3) uint8 numpy/tensor or (B, 3, H, W) float in [0, 1] -> (B, 3, H, W) float32 [0, 1]."""
    import torch

    t = torch.as_tensor(images)
    if t.dtype == torch.uint8:
        t = t.permute(0, 3, 1, 2).float() / 255.0
    return t.float()


def upsample_lr(lr: Any, size: tuple[int, int]) -> Any:
    """(B, 3, h, w) [0, 1] -> (B, 3, H, W) bicubic, clamped to [0, 1] (the LR 'upsampled to 512')."""
    import torch.nn.functional as F

    return F.interpolate(lr, size=size, mode="bicubic", align_corners=False).clamp_(0.0, 1.0)


def encode(vae: Any, images01: Any) -> Any:
    """(B, 3, H, W) [0, 1] -> (B, 4, H/8, W/8) scaled posterior mean, fp32, on the VAE's device."""
    import torch

    with torch.no_grad():
        x = (images01 * 2.0 - 1.0).to(device=vae.device, dtype=vae.dtype)
        mean = vae.encode(x).latent_dist.mean
    return mean.float() * float(vae.config.scaling_factor)


def encode_lr(vae: Any, lr01: Any, size: tuple[int, int]) -> Any:
    """z_LR: LR (B, 3, h, w) [0, 1] bicubic-upsampled to ``size`` (H, W), then encoded ->
    (B, 4, H/8, W/8) fp32. The one definition used by training, its cache, validation and SR."""
    return encode(vae, upsample_lr(lr01, size))


def encode_pair(vae: Any, hr01: Any, lr01: Any) -> tuple[Any, Any]:
    """HR and LR in [0, 1] -> (z0, z_LR), both (B, 4, H/8, W/8) fp32."""
    z0 = encode(vae, hr01)
    z_lr = encode_lr(vae, lr01, tuple(hr01.shape[-2:]))
    return z0, z_lr


def decode(vae: Any, z: Any) -> Any:
    """(B, 4, h, w) scaled latents -> (B, 3, 8h, 8w) fp32 [0, 1] on the VAE's device."""
    import torch

    with torch.no_grad():
        x = vae.decode((z / float(vae.config.scaling_factor)).to(device=vae.device, dtype=vae.dtype)).sample
    return ((x.float() + 1.0) / 2.0).clamp_(0.0, 1.0)
