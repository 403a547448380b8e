"""SRConfig: every option of `dalpsr-sr`, checked before any model is loaded.

Defaults follow SeeSR's test script (guidance 5.5, negative and added prompts, start at
t = 999 from the noised LR latent, 50 DDPM steps, AdaIN colour fix), latent tiles 96 /
overlap 32 (OSEDiff's inference defaults); docs/sr.md says where each default comes from.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from dalpsr_data.caption.config import RAM_VARIANTS, TORCH_DTYPES, CaptionConfig
from dalpsr_data.config_io import ConfigError, like
from dalpsr_model.diffusion.settings import SCHEDULERS, SamplerSettings
from dalpsr_model.training.config import opt

from .colorfix import COLOR_FIXES, DEFAULT_COLOR_FIX

# SD 2.1-base's schedule: 1000 training timesteps, "leading" spacing, steps_offset 1, so 1000
# steps would ask for timestep 1000 (out of range); 999 is the most it can take.
MAX_STEPS = 999

SAMPLER = SamplerSettings()  # the sampler's defaults are dalpsr-sr's (and the validation grid's)
DEVICES = ("auto", "cuda", "cpu")
DTYPES = ("auto", "bf16", "fp16", "fp32")
# Options that change speed or placement, never an output image: a resumed run may change them.
RUNTIME_ONLY = ("inputs", "out", "gpus", "batch_size", "tile_batch", "progress", "strict", "device",
                "address")


@dataclass(frozen=True)
class SRConfig:
    """Options of `dalpsr-sr` (``inputs`` is the positional INPUT...; the rest are --options)."""

    inputs: tuple[str, ...] = opt((), "LR image files, folders (recursive, sorted) or build folders (their LR members).")
    out: str = opt("", "Output folder: <relative path>.png per input, prompts.jsonl, run.json, report.json.")
    base: str = opt("", "Stable Diffusion 2.1-base folder in diffusers layout (read offline).")
    controlnet: str = opt("", "Output folder of `dalpsr-train controlnet` or the controlnet/ folder inside it.")
    irpad: str = opt("", "Output folder of `dalpsr-train irpad` (irpad.safetensors + irpad.json).")
    restoration_prompt: str = opt("", "Use this restoration prompt for every image instead of IRPAD (Table III: without IRPAD).")
    captions: str = opt("", "JSONL of {\"key\": ..., \"caption\": ...} to use instead of RAM + LLaVA.")
    no_captions: bool = opt(False, "No semantic caption (Table III: without the MLLM).")
    llava: str = opt("", "Local llava-1.5 folder (falls back to $DALPSR_LLAVA).")
    ram_checkpoint: str = opt("", "RAM checkpoint (falls back to $DALPSR_RAM_CHECKPOINT).")
    ram_image_size: int = opt(384, "RAM input size.")
    ram_variant: str = like(CaptionConfig, "ram_variant")
    ram_tag_list: str = like(CaptionConfig, "ram_tag_list")
    ram_thresholds: str = like(CaptionConfig, "ram_thresholds")
    ram_dtype: str = like(CaptionConfig, "ram_dtype")
    vision_tower: str = opt("", "LR-aligned vision tower saved by `dalpsr-train encoder` (LLaVA uses it).")
    caption_max_new_tokens: int = opt(128, "Longest caption LLaVA may generate, in tokens.")
    seed: int = opt(SAMPLER.seed, "Seed; each image's noise comes from a generator seeded by (seed, image key).")
    steps: int = opt(SAMPLER.steps, "Sampler steps.")
    scheduler: str = opt(SAMPLER.scheduler, "Sampler: ddpm, ddim or unipc (built from the base's scheduler config).")
    guidance: float = opt(SAMPLER.guidance, "Classifier-free guidance scale (1 = off).")
    negative_prompt: str = opt(SAMPLER.negative_prompt, "Negative prompt of classifier-free guidance.")
    added_prompt: str = opt(SAMPLER.added_prompt, "Appended after the caption while CLIP tokens remain.")
    start_timestep: int = opt(SAMPLER.start_timestep, "Timestep of the noised-LR start point; -1 = the sampler's first timestep.")
    conditioning_scale: float = opt(SAMPLER.conditioning_scale, "ControlNet conditioning scale.")
    tile: int = opt(SAMPLER.tile, "Latent tile side in cells (8 px each); larger latents are tiled.")
    tile_overlap: int = opt(SAMPLER.tile_overlap, "Overlap of neighbouring latent tiles, in cells.")
    tile_batch: int = opt(SAMPLER.tile_batch, "Latent tiles (x images) per model call when tiling.")
    vae_tiling_above: int = opt(1792, "Use diffusers' tiled VAE when the processed image has a side above this (px).")
    color_fix: str = opt(DEFAULT_COLOR_FIX, "Colour fix against the upsampled LR: adain, wavelet or none.")
    batch_size: int = opt(4, "Images of the same processed size per batch.")
    max_pixels: int = opt(4_194_304, "LR images with more pixels are listed in report.json, not processed.")
    strict: bool = opt(False, "Fail (exit 1) when an input cannot be processed instead of listing it in report.json.")
    device: str = opt("auto", "auto (cuda when visible), cuda or cpu.")
    dtype: str = opt("auto", "Weights dtype: auto (bf16 on cuda, fp32 on cpu), bf16, fp16, fp32.")
    gpus: int = opt(1, "Ray GPU actors, one per GPU, sharing the inputs (1 = this process).")
    address: str = opt("", "Existing Ray cluster address for --gpus (empty starts a local one).")
    progress: bool = opt(True, "Show a progress bar.")

    def __post_init__(self) -> None:
        def need(name: str, what: str) -> None:
            if not getattr(self, name):
                raise ConfigError(f"no {what}: give --{name.replace('_', '-')}")

        if not self.inputs:
            raise ConfigError("no INPUT: give LR image files, folders or build folders as arguments")
        need("out", "output folder")
        need("base", "base model (Stable Diffusion 2.1-base folder)")
        need("controlnet", "ControlNet (output folder of `dalpsr-train controlnet`)")
        if not self.restoration_prompt:
            need("irpad", "IRPAD (output folder of `dalpsr-train irpad`; or --restoration-prompt TEXT)")
        if self.captions and self.no_captions:
            raise ConfigError("--captions FILE and --no-captions exclude each other")
        choices = {"scheduler": SCHEDULERS, "color_fix": COLOR_FIXES, "device": DEVICES, "dtype": DTYPES,
                   "ram_variant": RAM_VARIANTS, "ram_dtype": tuple(TORCH_DTYPES)}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ConfigError(f"--{name.replace('_', '-')} must be one of {allowed}, got {getattr(self, name)!r}")
        for name in ("steps", "tile", "tile_batch", "batch_size", "max_pixels", "gpus",
                     "caption_max_new_tokens", "vae_tiling_above", "ram_image_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}")
        if self.steps > MAX_STEPS:
            raise ConfigError(f"--steps must be at most {MAX_STEPS} (SD 2.1-base's 1000 training timesteps, "
                              f"offset by 1), got {self.steps}")
        if not 0 <= self.tile_overlap < self.tile:
            raise ConfigError(f"--tile-overlap must be in [0, --tile), got {self.tile_overlap}")
        if not -1 <= self.start_timestep <= 999:
            raise ConfigError(f"--start-timestep must be -1 or a timestep in 0..999, got {self.start_timestep}")
        if self.device == "cpu" and self.dtype in ("bf16", "fp16"):
            raise ConfigError("--dtype bf16/fp16 needs --device cuda; use --dtype auto or fp32 on CPU")
        if self.device == "cpu" and self.ram_dtype != "fp32":
            raise ConfigError("--ram-dtype bf16/fp16 needs --device cuda; use --ram-dtype fp32 on CPU")

    @property
    def use_captions(self) -> bool:
        return not self.no_captions

    @property
    def sampler(self) -> SamplerSettings:
        """The sampler's settings of this run (its fields of the same names)."""
        return SamplerSettings(**{f.name: getattr(self, f.name) for f in fields(SamplerSettings)})
