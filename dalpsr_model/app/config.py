"""AppConfig: every option of `dalpsr-app`, checked before any model is loaded.

The model options and their meaning are `dalpsr-sr`'s (the app loads through the same
code); a request's settings become an :class:`SRConfig` through :func:`request_config`, so
the page's defaults are `dalpsr-sr`'s (SeeSR's protocol) and its checks are SRConfig's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path

from dalpsr_data.caption.config import ENV_LLAVA, ENV_RAM
from dalpsr_data.config_io import ConfigError, like
from dalpsr_model.sr.config import DEVICES, DTYPES, SRConfig
from dalpsr_model.training.config import opt

# The SRConfig fields a visitor may set on the page; everything else comes from AppConfig.
PAGE_SETTINGS = ("steps", "guidance", "seed", "scheduler", "tile", "tile_overlap", "color_fix",
                 "negative_prompt")


@dataclass(frozen=True)
class AppConfig:
    """Options of `dalpsr-app` (models as `dalpsr-sr`'s, plus the server's)."""

    base: str = opt("", "Stable Diffusion 2.1-base folder in diffusers layout (read offline), as dalpsr-sr --base.")
    controlnet: str = opt("", "Output folder of `dalpsr-train controlnet` (or its controlnet/ folder).")
    irpad: str = like(SRConfig, "irpad")
    llava: str = opt("", "Local llava-1.5 folder for the caption (with --ram-checkpoint; falls back to $DALPSR_LLAVA).")
    ram_checkpoint: str = opt("", "RAM checkpoint for the caption's tags (falls back to $DALPSR_RAM_CHECKPOINT).")
    ram_image_size: int = like(SRConfig, "ram_image_size")
    vision_tower: str = like(SRConfig, "vision_tower")
    caption_max_new_tokens: int = like(SRConfig, "caption_max_new_tokens")
    shards: tuple[str, ...] = opt((), "Build folder(s) the Dataset tab browses (repeat the option for several).")
    host: str = opt("127.0.0.1", "Address to listen on (127.0.0.1: this machine only; 0.0.0.0 exposes it).")
    port: int = opt(7860, "TCP port to listen on.")
    device: str = like(SRConfig, "device")
    dtype: str = like(SRConfig, "dtype")
    offload: bool = opt(False, "Keep LLaVA, RAM and IRPAD on the CPU between Analyse clicks (for a 24 GB GPU).")
    max_pixels: int = opt(4_194_304, "Uploaded LR images with more pixels are refused, as dalpsr-sr --max-pixels.")
    max_upload_mb: int = opt(50, "Largest upload accepted, in MB.")
    queue_size: int = opt(16, "Visitors that may wait in the diffusion queue; more are turned away.")
    page_size: int = opt(24, "Thumbnails per page of the Dataset tab.")

    def __post_init__(self) -> None:
        for name, what in (("base", "base model (Stable Diffusion 2.1-base folder)"),
                           ("controlnet", "ControlNet (output folder of `dalpsr-train controlnet`)"),
                           ("irpad", "IRPAD (output folder of `dalpsr-train irpad`)")):
            if not getattr(self, name):
                raise ConfigError(f"no {what}: give --{name}")
        if self.device not in DEVICES:
            raise ConfigError(f"--device must be one of {DEVICES}, got {self.device!r}")
        if self.dtype not in DTYPES:
            raise ConfigError(f"--dtype must be one of {DTYPES}, got {self.dtype!r}")
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"--port must be in 0..65535, got {self.port}")
        for name in ("max_pixels", "max_upload_mb", "queue_size", "page_size", "ram_image_size",
                     "caption_max_new_tokens"):
            if getattr(self, name) < 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}")
        if not self.host.strip():
            raise ConfigError("--host is empty: give 127.0.0.1 (this machine only) or an address to listen on")

    @property
    def captioned(self) -> bool:
        """Whether Analyse writes a caption: RAM + LLaVA given (options or their environment
        variables, as in dalpsr-sr); without them the caption box starts empty."""
        return bool(self.llava or self.ram_checkpoint or os.environ.get(ENV_LLAVA) or os.environ.get(ENV_RAM))


def page_defaults() -> dict[str, object]:
    """`dalpsr-sr`'s defaults of the settings the page offers."""
    defaults = {f.name: f.default for f in fields(SRConfig)}
    return {name: defaults[name] for name in PAGE_SETTINGS}


def request_config(cfg: AppConfig, name: str, restoration: str, caption: str,
                   **settings: object) -> SRConfig:
    """The `dalpsr-sr` configuration that gives the page's result for one request.

    ``name``: the LR file's name; its stem is the key that seeds the noise, as in
    `dalpsr-sr NAME`;
    the restoration prompt used is fixed with --restoration-prompt and the caption comes
    from ``<stem>.captions.jsonl`` (--captions), or --no-captions when it is empty.
    ConfigError (with the dalpsr-sr option's name) when a setting is out of range.
    """
    unknown = set(settings) - set(PAGE_SETTINGS)
    if unknown:
        raise ValueError(f"not page settings: {sorted(unknown)}")
    stem = Path(name).stem
    return SRConfig(inputs=(name,), out="OUT", base=cfg.base, controlnet=cfg.controlnet,
                    irpad=cfg.irpad, restoration_prompt=restoration,
                    captions=f"{stem}.captions.jsonl" if caption else "", no_captions=not caption,
                    max_pixels=cfg.max_pixels, device=cfg.device, dtype=cfg.dtype, batch_size=1,
                    progress=False, **settings)  # type: ignore[arg-type]
