"""The DaLPSR ControlNet: a trainable copy of the SD UNet encoder conditioned on z_LR.

The paper (Fig. 2) conditions the ControlNet on z_LR, the VAE latent of the LR image
upsampled to the HR size: a 4 x 64 x 64 map for a 512 px patch. The stock ControlNet hint
embedding takes a 512 px RGB image and downsamples it 8x with three stride-2 convolutions;
the latent is already at the UNet's resolution, so its embedding must not downsample.

diffusers' own ``ControlNetConditioningEmbedding`` puts one stride-2 convolution between
consecutive entries of ``conditioning_embedding_out_channels``. With a single entry ``(C,)``
and ``conditioning_channels=4`` it is exactly what the latent needs: conv3x3 4->C, SiLU,
zero-initialized conv3x3 C->320, no downsampling. Because this is expressed with the stock
config fields, ``save_pretrained``/``ControlNetModel.from_pretrained`` round-trip with plain
diffusers and no custom code (a subclass or a swapped module would not).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

LATENT_CHANNELS = 4


def build_controlnet(unet: Any, cond_embed_channels: int = 128) -> Any:
    """ControlNetModel initialized from ``unet`` (encoder + mid block copied), fp32.

    The conditioning embedding maps z_LR (B, 4, h, w) to (B, C0, h, w), C0 being the UNet's
    first block width; its last conv is zero so the untrained ControlNet adds nothing.
    """
    import torch
    from diffusers import ControlNetModel

    if cond_embed_channels < 1:
        raise ValueError(f"cond_embed_channels must be >= 1, got {cond_embed_channels}")
    controlnet = ControlNetModel.from_unet(
        unet, conditioning_embedding_out_channels=(int(cond_embed_channels),),
        conditioning_channels=LATENT_CHANNELS, load_weights_from_unet=True)
    # fp32 master weights even when the frozen base runs in bf16.
    if controlnet.dtype != torch.float32:
        controlnet.to(dtype=torch.float32)
    controlnet.train()
    return controlnet


def check_latent_controlnet(controlnet: Any) -> None:
    """Refuse a ControlNet whose hint embedding is the stock RGB one (it would downsample)."""
    cfg = controlnet.config
    if cfg.conditioning_channels != LATENT_CHANNELS or len(cfg.conditioning_embedding_out_channels) != 1:
        raise ValueError(
            "not a DaLPSR latent ControlNet: expected conditioning_channels=4 and one "
            f"conditioning_embedding_out_channels entry, got {cfg.conditioning_channels} and "
            f"{list(cfg.conditioning_embedding_out_channels)}")


def load_controlnet(path: str | Path) -> Any:
    """Load a ControlNet saved by the trainer (a plain diffusers folder)."""
    from diffusers import ControlNetModel

    controlnet = ControlNetModel.from_pretrained(Path(path), local_files_only=True)
    check_latent_controlnet(controlnet)
    return controlnet


def predict_noise(base_unet: Any, controlnet: Any, z_t: Any, t: Any, text_emb: Any, z_lr: Any,
                  conditioning_scale: float = 1.0) -> Any:
    """epsilon_theta(z_t, t, tau, z_LR): ControlNet residuals added to the frozen UNet.

    z_t, z_lr: (B, 4, h, w); t: (B,) int64; text_emb: (B, 77, D). The ControlNet runs in
    its own (fp32) dtype and its residuals are cast to the UNet's dtype. Returns (B, 4, h, w)
    in the UNet's dtype.
    """
    cdt = next(controlnet.parameters()).dtype  # works for a DDP-wrapped ControlNet too
    down, mid = controlnet(
        z_t.to(cdt), t, encoder_hidden_states=text_emb.to(cdt), controlnet_cond=z_lr.to(cdt),
        conditioning_scale=conditioning_scale, return_dict=False)
    udt = next(base_unet.parameters()).dtype
    return base_unet(
        z_t.to(udt), t, encoder_hidden_states=text_emb.to(udt),
        down_block_additional_residuals=[d.to(udt) for d in down],
        mid_block_additional_residual=mid.to(udt), return_dict=False)[0]
