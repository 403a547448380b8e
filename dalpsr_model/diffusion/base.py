"""Load the frozen Stable Diffusion 2.1-base parts from a local diffusers folder.

The folder follows the stabilityai/stable-diffusion-2-1-base layout (``unet/``, ``vae/``,
``text_encoder/``, ``tokenizer/``, ``scheduler/``); nothing is ever downloaded
(``local_files_only=True``). The UNet, VAE and text encoder are frozen, put in eval mode
and cast to ``dtype`` (bf16 on GPU, fp32 on CPU); the noise schedule for training is a
``DDPMScheduler`` built from the base's own scheduler config, so betas, timestep count and
prediction type are the ones the base was trained with.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

from dalpsr_data.config_io import ConfigError

REQUIRED_PARTS = ("unet", "vae", "text_encoder", "tokenizer", "scheduler")


@dataclasses.dataclass
class SDBase:
    """The frozen base: modules on ``device`` in ``dtype``, tokenizer and noise schedule."""

    unet: Any            # UNet2DConditionModel, frozen
    vae: Any             # AutoencoderKL, frozen
    text_encoder: Any    # CLIPTextModel, frozen
    tokenizer: Any       # CLIPTokenizer, model_max_length 77
    noise_scheduler: Any  # DDPMScheduler from scheduler/scheduler_config.json
    scheduler_config: dict[str, Any]
    path: Path

    def cast(self, dtype: Any) -> None:
        """Cast the frozen modules (e.g. to bf16 once the ControlNet was copied in fp32)."""
        for m in (self.unet, self.vae, self.text_encoder):
            if next(m.parameters()).dtype != dtype:  # avoid diffusers' cast warning for no-ops
                m.to(dtype=dtype)


def check_base_folder(path: str | Path) -> Path:
    """Fail early, with what to do, when ``path`` is not a diffusers SD folder."""
    p = Path(path)
    if not p.is_dir():
        raise ConfigError(
            f"base model folder {p} does not exist: download stabilityai/stable-diffusion-2-1-base "
            f"in diffusers format into a local folder once and pass it with --base")
    missing = [part for part in REQUIRED_PARTS if not (p / part).is_dir()]
    if missing:
        raise ConfigError(f"base model folder {p} lacks {missing}: it must be a diffusers "
                          f"Stable Diffusion folder with {list(REQUIRED_PARTS)}")
    if not (p / "scheduler" / "scheduler_config.json").is_file():
        raise ConfigError(f"{p}/scheduler/scheduler_config.json not found")
    return p


def read_scheduler_config(path: str | Path) -> dict[str, Any]:
    with open(Path(path) / "scheduler" / "scheduler_config.json", encoding="utf-8") as f:
        config = json.load(f)
    if config.get("prediction_type", "epsilon") != "epsilon":
        raise ConfigError(f"{path}: prediction_type {config['prediction_type']!r}; the DaLPSR loss "
                          f"(Eq. 3) is epsilon prediction, use an epsilon base such as SD 2.1-base")
    return config


def load_base(path: str | Path, device: Any = "cpu", dtype: Any = None) -> SDBase:
    """Load the frozen parts; ``dtype`` defaults to fp32. Raises ConfigError on a bad folder."""
    import torch
    from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer

    p = check_base_folder(path)
    dtype = dtype or torch.float32
    sched_cfg = read_scheduler_config(p)
    kw = {"local_files_only": True, "dtype": dtype}
    unet = UNet2DConditionModel.from_pretrained(p, subfolder="unet", **kw)
    vae = AutoencoderKL.from_pretrained(p, subfolder="vae", **kw)
    text_encoder = CLIPTextModel.from_pretrained(p, subfolder="text_encoder", **kw)
    tokenizer = CLIPTokenizer.from_pretrained(p, subfolder="tokenizer", local_files_only=True)
    for m in (unet, vae, text_encoder):
        m.requires_grad_(False)
        m.eval()
        m.to(device=device)
    # Only the schedule's numbers matter for training; PNDM/DDIM configs carry the same ones.
    noise_scheduler = DDPMScheduler.from_config(sched_cfg)
    return SDBase(unet=unet, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
                  noise_scheduler=noise_scheduler, scheduler_config=sched_cfg, path=p)


def module_hash(module: Any, extra: str = "") -> str:
    """sha256 (first 16 hex) of a module's config and weights (names, dtypes, shapes, bytes).

    Ties the latent cache to the exact VAE: another VAE, or the same one encoding in
    another dtype (``extra``), gets another cache folder.
    """
    import torch

    h = hashlib.sha256()
    config = getattr(module, "config", {})
    h.update(json.dumps(dict(config), sort_keys=True, default=str).encode())
    h.update(extra.encode())
    for name, tensor in sorted(module.state_dict().items()):
        t = tensor.detach().to("cpu").contiguous()
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)}".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()[:16]
