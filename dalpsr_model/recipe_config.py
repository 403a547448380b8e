"""RecipeConfig: the options of `dalpsr-train` with no stage named (the paper's recipe).

Apart from dalpsr_model.recipe, which imports every trainer: the command line builds and
checks this config (a missing --shards or --base) without loading torch.
"""

from __future__ import annotations

from dataclasses import dataclass

from dalpsr_data.config_io import ConfigError


@dataclass(frozen=True)
class RecipeConfig:
    """Options of the recipe (the app callback); stage settings come from the preset."""

    shards: str = ""
    base: str = ""
    out: str = "runs/dalpsr"
    pipeline: str = "paper"
    irpad: str = ""
    vision_tower: str = ""
    llava: str = ""
    ram_checkpoint: str = ""
    cpu: bool = False
    resume: str = ""
    overwrite: bool = False

    def __post_init__(self) -> None:
        if not self.shards:
            raise ConfigError("give --shards <build folder> to run the recipe, or name a stage "
                              "(see `dalpsr-train --help`)")
        if not self.base:
            raise ConfigError("give --base <Stable Diffusion 2.1-base folder, diffusers layout>")
