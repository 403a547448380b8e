"""Encoder-alignment trainer (``dalpsr-train encoder``): align LLaVA's vision tower so LR features match HR features.

Loss: MSE between the trained tower's features of the LR image and a frozen copy's
features of the HR image, both resized by the LLaVA image processor, on the hidden
layer(s) LLaVA consumes (``vision_feature_layer``). Saves only the tower
(``OUT/vision_tower/``, loadable by ``dalpsr-data caption --vision-tower``).
"""

from __future__ import annotations

from typing import Any

from dalpsr_data.buildinfo import BuildInfo
from dalpsr_data.caption.llava_io import save_vision_tower
from dalpsr_data.config_io import ConfigError
from dalpsr_data.outlock import holds_out_lock
from dalpsr_model.data import EpochLoader
from dalpsr_model.encoder_align.config import EncoderConfig
from dalpsr_model.encoder_align.tower import (TowerHolder, check_llava_path, freeze_unused, load_llava_tower,
                                              preprocess, tower_features)
from dalpsr_model.training.accel import make_accelerator, seed_everything
from dalpsr_model.training.loop import StepOutput, Trainer, make_optimizer, make_scheduler
from dalpsr_model.training.outdir import check_out, prepare_out

# What a run saves in --out besides checkpoints/ and tb/ (--overwrite removes only these).
OUTPUTS = ("vision_tower/vision_tower.safetensors", "vision_tower/vision_tower.json")


@holds_out_lock
def train_encoder(cfg: EncoderConfig, build: BuildInfo | None = None) -> dict[str, Any]:
    """Train on ``build`` (cfg.shards, opened here when not given) and save the tower;
    returns {"result": TrainResult, "tower": path, "frozen": [...]}."""
    import copy

    import torch

    # Every path first, as the other stages do: loading LLaVA takes minutes.
    build = build if build is not None else BuildInfo.open(cfg.shards, "--shards")
    if not sum(build.sizes):
        raise ConfigError(f"--shards {build.root} holds no samples: build it again from other "
                          f"photos (see its report.json)")
    check_out(cfg, OUTPUTS)  # a refused --out is said first, as in the other stages
    check_llava_path(cfg.llava)
    prepare_out(cfg, OUTPUTS)
    acc = make_accelerator(cfg)
    seed_everything(cfg.seed, acc.process_index)
    tower, spec, processor = load_llava_tower(cfg.llava)
    teacher = copy.deepcopy(tower).eval().requires_grad_(False).to(acc.device)
    frozen = freeze_unused(tower, spec)
    optimizer = make_optimizer(cfg, tower.parameters())
    scheduler = make_scheduler(cfg, optimizer)
    tower, optimizer = acc.prepare(tower, optimizer)
    loader = EpochLoader.from_config(cfg, acc, build, fields=("lr", "hr"), hr_signed=False)

    def training_step(batch: dict[str, Any]) -> StepOutput:
        lr_px = preprocess(processor, batch["lr"]).to(acc.device)
        hr_px = preprocess(processor, batch["hr"]).to(acc.device)
        with torch.no_grad(), acc.autocast():
            target = tower_features(teacher, hr_px, spec).float()
        with acc.autocast():
            pred = tower_features(tower, lr_px, spec).float()
        loss = torch.nn.functional.mse_loss(pred, target)
        return StepOutput(loss, lr_px.shape[0], {"mse": float(loss.detach())})

    trainer = Trainer(cfg, acc, models={"vision_tower": tower}, optimizer=optimizer,
                      scheduler=scheduler, loader=loader, training_step=training_step,
                      description="encoder")
    result = trainer.fit()
    path = None
    if acc.is_main_process:
        path = save_vision_tower(TowerHolder(acc.unwrap_model(tower)), f"{cfg.out}/vision_tower")
    acc.wait_for_everyone()
    return {"result": result, "tower": path, "frozen": frozen}
