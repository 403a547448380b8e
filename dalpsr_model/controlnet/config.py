"""The `dalpsr-train controlnet` configuration: one frozen dataclass, fields = CLI options.

Defaults are the paper's settings (Section IV.A: Adam, batch 4, lr 2e-5, 100,000
iterations, 512 px patches: the build's patch size, read from it); ``pipelines/paper.yaml``
repeats them. What the paper does not state (empty-prompt probability, validation, EMA,
gradient clipping) is chosen here and documented in docs/controlnet.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from dalpsr_data.buildinfo import BuildInfo
from dalpsr_data.config_io import ConfigError
from dalpsr_model.training.config import TrainConfig, opt

SIDE_MULTIPLE = 32  # the HR side reaching the VAE: latents of side/8, halved by the UNet's levels


@dataclass(frozen=True)
class ControlNetConfig(TrainConfig):
    """Options of `dalpsr-train controlnet` (shared trainer options first, see TrainConfig)."""

    out: str = opt("runs/controlnet", "Output folder: checkpoints/, tb/, validation/, controlnet/ (diffusers folder).")
    batch_size: int = opt(4, "Samples per batch on each process (paper: 4).")
    lr: float = opt(2e-5, "Learning rate (paper: 2e-5; Adam = AdamW with --weight-decay 0).")
    max_steps: int = opt(100_000, "Optimizer steps in total (paper: 100,000 iterations).")
    checkpoint_every: int = opt(2000, "Save a checkpoint every N optimizer steps (and at the end).")
    base: str = opt("", "Stable Diffusion 2.1-base folder in diffusers layout (unet/, vae/, text_encoder/, tokenizer/, scheduler/); read offline.")
    cond_embed_channels: int = opt(128, "Width of the z_LR conditioning embedding (conv3x3 4->C, SiLU, zero conv C->320; no downsampling).")
    empty_prompt_prob: float = opt(0.1, "Probability of training a sample with the empty prompt (enables classifier-free guidance).")
    use_captions: bool = opt(True, "Append the semantic caption (caption sidecar) after the restoration prompt, within CLIP's 77 tokens.")
    crop: int = opt(0, "Random HR crop in px (multiple of 32; LR cropped to match); 0 = the build's whole patch (512 px in the paper).")
    latent_cache: bool = opt(False, "Encode HR and upsampled-LR latents once per shard into <shards>/latents/<vae-hash>/ and train from them.")
    latent_cache_batch: int = opt(8, "Images per VAE call while building the latent cache.")
    gradient_checkpointing: bool = opt(False, "Recompute ControlNet activations in backward (less memory, ~30% slower).")
    ema_decay: float = opt(0.0, "EMA decay of the ControlNet weights (e.g. 0.9999); 0 = no EMA.")
    validate_every: int = opt(1000, "Write an LR | SR | HR grid to OUT/validation/ every N steps (0 = never).")
    val_samples: int = opt(4, "Samples in the validation grid (the first ones of the first shard).")
    val_steps: int = opt(20, "Steps of the validation sampling (dalpsr-sr's sampler and defaults otherwise).")

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.base:
            raise ConfigError("no base model: give --base <folder> holding Stable Diffusion 2.1-base "
                              "in diffusers layout (unet/, vae/, text_encoder/, tokenizer/, scheduler/)")
        if not 0.0 <= self.empty_prompt_prob <= 1.0:
            raise ConfigError(f"--empty-prompt-prob must be in [0, 1], got {self.empty_prompt_prob}")
        if self.crop < 0 or self.crop % SIDE_MULTIPLE:
            raise ConfigError(f"--crop must be 0 or a multiple of {SIDE_MULTIPLE}, got {self.crop}")
        if self.crop and self.latent_cache:
            raise ConfigError("--latent-cache stores latents of whole patches: use --crop 0 with it")
        positive = {"cond_embed_channels": self.cond_embed_channels,
                    "latent_cache_batch": self.latent_cache_batch, "val_samples": self.val_samples,
                    "val_steps": self.val_steps}
        for name, value in positive.items():
            if value < 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be >= 1, got {value}")
        if self.validate_every < 0:
            raise ConfigError(f"--validate-every must be >= 0, got {self.validate_every}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ConfigError(f"--ema-decay must be in [0, 1), got {self.ema_decay}")

    def patch(self, build: BuildInfo) -> int:
        """HR side in px that reaches the VAE (crop or the build's whole patch)."""
        return self.crop or build.patch_size

    def check_build(self, build: BuildInfo) -> None:
        """The rules that need the build's geometry; ConfigError before any work."""
        if self.crop > build.patch_size or self.crop % build.scale:
            raise ConfigError(f"--crop {self.crop} must be at most the patch size of {build.root} "
                              f"({build.patch_size} px) and a multiple of its scale ({build.scale})")
        if self.patch(build) % SIDE_MULTIPLE:
            raise ConfigError(f"{build.root} holds {build.patch_size} px patches, not a multiple of "
                              f"{SIDE_MULTIPLE}: give --crop <multiple of {SIDE_MULTIPLE}>")
