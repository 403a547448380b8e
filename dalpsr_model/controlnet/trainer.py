"""`dalpsr-train controlnet`: the DaLPSR ControlNet stage on the common Trainer.

Wiring only; the pieces live next door: model.py (latent ControlNet), step.py (Eq. 3),
latent_cache.py (training latents per shard), validation.py, ema.py; the frozen SD
2.1-base is dalpsr_model.diffusion.base. The common Trainer (dalpsr_model.training) does backward, accumulation,
clipping, checkpoints, --resume, logging and the non-finite guard; the loader
(dalpsr_model.data.EpochLoader) streams each sample exactly once per epoch.

Outputs in ``OUT``: ``checkpoints/``, ``tb/``, ``validation/step-*.png``, and at the end
``controlnet/`` (``ControlNetModel.save_pretrained``; ``controlnet-ema/`` with EMA) plus
``config.json``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from dalpsr_data.atomic import commit_dir, fresh_temporary_dir, write_json_atomic
from dalpsr_data.buildinfo import BuildInfo
from dalpsr_data.config_io import to_dict
from dalpsr_data.outlock import holds_out_lock
from dalpsr_model.data import CorruptSample, EpochLoader
from dalpsr_model.diffusion.base import load_base, module_hash
from dalpsr_model.training.accel import effective_precision, make_accelerator, seed_everything
from dalpsr_model.training.loop import StepOutput, Trainer, make_optimizer, make_scheduler
from dalpsr_model.training.outdir import check_out, prepare_out

from .caption_check import check_captions
from .config import ControlNetConfig
from .ema import EMAHolder
from .latent_cache import LatentCache, ensure_latent_cache
from .model import build_controlnet
from .step import Batch, compute_loss, random_crop, step_generator
from .validation import Validator

log = logging.getLogger(__name__)

IMAGE_FIELDS = ("lr", "hr", "prompt", "caption", "key")
CACHED_FIELDS = ("prompt", "caption", "key")  # latents come from the cache: skip PNG decoding
# What a run saves in --out besides checkpoints/ and tb/ (--overwrite removes only these).
OUTPUTS = ("controlnet", "controlnet-ema", "config.json", "validation/step-*.png")


def weight_dtype(cfg: ControlNetConfig) -> Any:
    """dtype of the frozen UNet/VAE/text encoder: bf16/fp16 under mixed precision, else fp32
    (always fp32 on the CPU, see ``effective_precision``)."""
    import torch

    return {"bf16": torch.bfloat16, "fp16": torch.float16}.get(effective_precision(cfg), torch.float32)


def prepare_latent_cache(cfg: ControlNetConfig, base: Any, acc: Any, build: BuildInfo) -> Any:
    """Encode uncached shards of ``build`` (split over ranks), wait for all ranks, open the cache."""
    vae_hash = module_hash(base.vae, extra=str(next(base.vae.parameters()).dtype))
    ensure_latent_cache(build, base.vae, vae_hash, cfg.latent_cache_batch,
                        acc.process_index, acc.num_processes, progress=cfg.progress and acc.is_main_process)
    acc.wait_for_everyone()
    return LatentCache(build, vae_hash)


def make_batch(raw: dict[str, Any], cfg: ControlNetConfig, cache: Any, generator: Any,
               scale: int) -> Any:
    """Loader batch dict -> step.Batch (cached latents, or images cropped per --crop;
    ``scale``: the build's HR/LR ratio)."""
    keys, prompts = list(raw["key"]), list(raw["prompt"])
    captions = list(raw["caption"]) if cfg.use_captions else [""] * len(keys)
    if cache is not None:
        # A sample the cache skipped (bad PNG, wrong size: reason in its marker) is dropped
        # here, as the loader drops a corrupt sample when it decodes images itself.
        have = [i for i, k in enumerate(keys) if k in cache]
        if len(have) < len(keys):
            dropped = [k for k in keys if k not in cache]
            log.warning("skipped %d sample(s) the latent cache recorded as bad (reasons in its "
                        "markers): %s", len(dropped), ", ".join(dropped[:5]))
            if not have:
                raise CorruptSample(f"every sample of a batch is missing from the latent cache "
                                    f"(e.g. {dropped[0]}); see the skipped reasons in {cache.dir}")
            keys, prompts, captions = ([x[i] for i in have] for x in (keys, prompts, captions))
        z0, z_lr = cache.get(keys)
        return Batch(keys, prompts, captions, z0=z0, z_lr=z_lr)
    hr, lr = raw["hr"], raw["lr"]
    if cfg.crop:
        hr, lr = random_crop(hr, lr, cfg.crop, scale, generator)
    return Batch(keys, prompts, captions, hr01=hr, lr01=lr)


def save_final(cfg: ControlNetConfig, controlnet: Any, ema: Any | None) -> Path:
    """OUT/controlnet (and OUT/controlnet-ema) as diffusers folders, written then renamed."""
    out = Path(cfg.out)
    targets = {"controlnet": controlnet}
    if ema is not None:
        targets["controlnet-ema"] = ema.model
    for name, model in targets.items():
        tmp = fresh_temporary_dir(out / name)
        model.save_pretrained(tmp, safe_serialization=True)
        commit_dir(tmp, out / name)
    write_json_atomic(out / "config.json", {"stage": "controlnet", **to_dict(cfg)})
    return out / "controlnet"


@holds_out_lock
def train_controlnet(cfg: ControlNetConfig, build: BuildInfo | None = None) -> Any:
    """Train (or resume) the ControlNet on ``build`` (cfg.shards, opened here when not given);
    returns the common ``TrainResult``."""
    build = build if build is not None else BuildInfo.open(cfg.shards, "--shards")
    cfg.check_build(build)
    check_out(cfg, OUTPUTS)  # before the warnings below: a refused --out is the only line
    if (warning := check_captions(build, cfg.use_captions)) is not None:
        log.warning(warning)
    prepare_out(cfg, OUTPUTS)
    acc = make_accelerator(cfg)
    seed_everything(cfg.seed, acc.process_index)
    base = load_base(cfg.base, acc.device)
    controlnet = build_controlnet(base.unet, cfg.cond_embed_channels)  # copy from fp32 weights
    base.cast(weight_dtype(cfg))
    if cfg.gradient_checkpointing:
        controlnet.enable_gradient_checkpointing()
    # Attention: diffusers' default processor on torch 2 is SDPA (AttnProcessor2_0).
    cache = prepare_latent_cache(cfg, base, acc, build) if cfg.latent_cache else None
    loader = EpochLoader.from_config(cfg, acc, build, fields=CACHED_FIELDS if cache else IMAGE_FIELDS,
                                     hr_signed=False)
    optimizer = make_optimizer(cfg, controlnet.parameters())
    scheduler = make_scheduler(cfg, optimizer)
    ema = EMAHolder(controlnet, cfg.ema_decay).to(acc.device) if cfg.ema_decay > 0 else None
    controlnet, optimizer = acc.prepare(controlnet, optimizer)

    def training_step(raw: dict[str, Any]) -> Any:
        # One generator per (batch of the run, rank): resume replays the same draws.
        g = step_generator(cfg.seed, trainer.micro_step, acc.process_index)
        batch = make_batch(raw, cfg, cache, g, build.scale)
        with acc.autocast():
            loss = compute_loss(base, controlnet, batch, g, cfg.empty_prompt_prob, acc.device)
        return StepOutput(loss=loss, num_samples=len(batch), logs={})

    validator = Validator(cfg, base, controlnet, acc, build) if cfg.validate_every else None
    models = {"controlnet": controlnet, **({"ema": ema} if ema is not None else {})}
    trainer = Trainer(cfg, acc, models=models, optimizer=optimizer, scheduler=scheduler,
                      loader=loader, training_step=training_step, validate=validator,
                      validate_every=cfg.validate_every, description="controlnet",
                      on_step_end=None if ema is None else lambda step: ema.update(acc.unwrap_model(controlnet)))
    try:
        result = trainer.fit()
    finally:
        if validator is not None:
            validator.close()
    if acc.is_main_process:
        save_final(cfg, acc.unwrap_model(controlnet), ema)
    acc.wait_for_everyone()
    return result
