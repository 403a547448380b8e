"""EncoderConfig: the options of `dalpsr-train encoder` (the fields are the CLI options, generated).

Apart from the trainer so that the command line parses and checks them without importing
torch or transformers (the trainer is imported only when the command runs).
"""

from __future__ import annotations

from dataclasses import dataclass

from dalpsr_data.config_io import ConfigError
from dalpsr_model.training.config import TrainConfig, opt


@dataclass(frozen=True)
class EncoderConfig(TrainConfig):
    llava: str = opt("", "Local llava-hf model folder (e.g. llava-1.5-7b-hf) whose vision tower is aligned.")
    out: str = opt("runs/encoder", "Output folder: vision_tower/ (safetensors + json), checkpoints/, tb/.")
    batch_size: int = opt(16, "Samples per batch on each process.")
    lr: float = opt(1e-5, "Peak learning rate (AdamW) of the tower.")
    warmup_steps: int = opt(100, "Linear learning-rate warm-up, in optimizer steps.")
    max_steps: int = opt(2000, "Optimizer steps to train in total.")

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.llava:
            raise ConfigError("give --llava <llava-hf model folder>: the tower to align")
