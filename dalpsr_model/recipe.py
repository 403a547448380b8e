"""`dalpsr-train --shards DIR ...` with no stage: the paper's recipe, IRPAD then the ControlNet.

IRPAD (Section III.B) is trained first unless ``--irpad`` names a trained one, then the
ControlNet (Section III.D) on SD 2.1-base. Both stages read their settings from the same
preset (``--pipeline``, default ``paper``: its ``irpad:`` and ``controlnet:`` sections);
the recipe sets only where they read and write: ``OUT/irpad`` and ``OUT/controlnet``.
Every configuration is built and checked before IRPAD starts, so a bad ControlNet option
or a missing base folder fails in seconds, not after the IRPAD run. ``OUT/recipe.json``
records what ran and where the results are.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dalpsr_data.atomic import write_json_atomic
from dalpsr_data.config_io import ConfigError, load_config, to_dict
from dalpsr_model.controlnet.base import check_base_folder
from dalpsr_model.controlnet.config import ControlNetConfig
from dalpsr_model.controlnet.trainer import train_controlnet
from dalpsr_model.irpad.io import load_irpad
from dalpsr_model.irpad.trainer import IrpadConfig, train_irpad


@dataclass(frozen=True)
class RecipeConfig:
    """Options of the recipe (the app callback); stage settings come from the preset."""

    shards: str = ""
    base: str = ""
    out: str = "runs/dalpsr"
    pipeline: str = "paper"
    irpad: str = ""
    cpu: bool = False
    resume: str = ""

    def __post_init__(self) -> None:
        if not self.shards:
            raise ConfigError("give --shards <build folder> to run the recipe, or name a stage "
                              "(see `dalpsr-train --help`)")
        if not self.base:
            raise ConfigError("give --base <Stable Diffusion 2.1-base folder, diffusers layout>")


def stage_configs(rc: RecipeConfig) -> tuple[Any, Any]:
    """(IrpadConfig or None when --irpad is given, ControlNetConfig), checked, no work done."""

    if not (Path(rc.shards) / "index.json").is_file():
        raise ConfigError(f"--shards {rc.shards}: no index.json (make the build with "
                          f"`dalpsr-data build --out {rc.shards}` first)")
    out = Path(rc.out)
    common = {"shards": rc.shards, "cpu": rc.cpu or None, "resume": rc.resume or None}
    irpad_cfg = None
    if rc.irpad:
        if not (Path(rc.irpad) / "irpad.safetensors").is_file():
            raise ConfigError(f"--irpad {rc.irpad}: no irpad.safetensors there (a folder written "
                              f"by `dalpsr-train irpad`)")
    else:
        irpad_cfg = load_config(IrpadConfig, rc.pipeline, "irpad", {**common, "out": str(out / "irpad")})
    cn_cfg = load_config(ControlNetConfig, rc.pipeline, "controlnet",
                         {**common, "out": str(out / "controlnet"), "base": rc.base})
    check_base_folder(cn_cfg.base)
    return irpad_cfg, cn_cfg


def run_recipe(rc: RecipeConfig) -> dict[str, Any]:
    """Run the recipe; returns (and writes to OUT/recipe.json) where each result is."""

    irpad_cfg, cn_cfg = stage_configs(rc)
    summary: dict[str, Any] = {"recipe": to_dict(rc)}
    if irpad_cfg is not None:
        irpad = train_irpad(irpad_cfg)
        summary["irpad"] = {"path": irpad_cfg.out, "step": irpad["result"].step,
                            "accuracy": irpad["eval"].get("accuracy")}
        irpad_dir = irpad_cfg.out
    else:
        irpad_dir = rc.irpad
        summary["irpad"] = {"path": irpad_dir, "given": True}
    load_irpad(irpad_dir)  # the pair is usable at inference: IRPAD must load
    result = train_controlnet(cn_cfg)
    summary["controlnet"] = {"path": str(Path(cn_cfg.out) / "controlnet"), "step": result.step,
                             "last_loss": result.losses[-1] if result.losses else None}
    Path(rc.out).mkdir(parents=True, exist_ok=True)
    write_json_atomic(Path(rc.out) / "recipe.json", summary)
    return summary
