"""IrpadConfig: the options of `dalpsr-train irpad` (the fields are the CLI options, generated).

Apart from the trainer so that the command line parses and checks them without importing
torch (the trainer is imported only when the command runs).
"""

from __future__ import annotations

from dataclasses import dataclass

from dalpsr_data.config_io import ConfigError
from dalpsr_model.training.config import TrainConfig, opt


@dataclass(frozen=True)
class IrpadConfig(TrainConfig):
    out: str = opt("runs/irpad", "Output folder: irpad.safetensors, irpad.json, eval.json, checkpoints/, tb/.")
    batch_size: int = opt(32, "Samples per batch on each process.")
    lr: float = opt(1e-3, "Peak learning rate (AdamW); the default trunk trains from scratch.")
    weight_decay: float = opt(0.01, "AdamW weight decay.")
    warmup_steps: int = opt(100, "Linear learning-rate warm-up, in optimizer steps.")
    max_steps: int = opt(3000, "Optimizer steps to train in total.")
    val_shards: str = opt("", "Held-out build folder (ideally made from other source photos); empty: hold out shards of --shards.")
    holdout_shards: int = opt(1, "Without --val-shards: the last N shards of --shards are held out for evaluation.")
    eval_every: int = opt(0, "Evaluate on the held-out split every N steps (0 = only at the end).")
    trunk: str = opt("conv", "Image trunk: conv (compact, from scratch) or timm (pretrained CNN, needs --trunk-weights).")
    width: int = opt(16, "Conv trunk base width (stage widths 1, 2, 4, 8 x width).")
    stats: bool = opt(True, "Conv trunk: add fixed per-8x8-block blur/noise/JPEG measurements (block DCT, residual energies, blockiness) to the tokens.")
    timm_model: str = opt("resnet18", "timm model name for --trunk timm.")
    trunk_weights: str = opt("", "Local weights file (.safetensors or .pth) of the timm trunk.")
    dim: int = opt(128, "Width of the prompt queries and image tokens.")
    heads: int = opt(4, "Attention heads.")
    blocks: int = opt(2, "Cross-attention + feed-forward blocks.")
    flips: bool = opt(True, "Random horizontal/vertical flips of the LR (keeps blur, noise and the 8x8 JPEG grid of a 128 px crop).")
    rotations: bool = opt(True, "With --flips: also random transposes, i.e. all 8 flips/90-degree rotations of the square.")
    label_sigma: float = opt(0.1, "Soft targets: P(degree + N(0, sigma^2) in each bin) from the recorded degree (0 = one-hot bins).")
    tta: bool = opt(True, "Evaluate (and let the saved predictor predict) with the mean of the 8 flipped/rotated views.")
    base_model: str = opt("", "Stable Diffusion folder (diffusers layout) whose CLIP text encoder embeds the 12 prompts (see --queries).")
    queries: str = opt("auto", "Query source: clip (the 12 prompts embedded by --base-model's CLIP text encoder, Sec. III.B.2), learned (free vectors), auto (clip when --base-model is given, else learned).")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.trunk not in ("conv", "timm"):
            raise ConfigError(f"--trunk must be conv or timm, got {self.trunk!r}")
        if self.trunk == "timm" and not self.trunk_weights:
            raise ConfigError("--trunk timm needs --trunk-weights <file>: nothing is downloaded")
        if self.queries not in ("auto", "clip", "learned"):
            raise ConfigError(f"--queries must be auto, clip or learned, got {self.queries!r}")
        if self.queries == "clip" and not self.base_model:
            raise ConfigError("--queries clip needs --base-model <Stable Diffusion folder> (its CLIP text "
                              "encoder embeds the prompts); or give --queries learned")
        if self.dim % self.heads:
            raise ConfigError(f"--dim {self.dim} must be divisible by --heads {self.heads}")
        if not 0.0 <= self.label_sigma <= 1.0:
            raise ConfigError(f"--label-sigma must be in [0, 1] (degree units), got {self.label_sigma}")
        if self.eval_every < 0 or self.holdout_shards < 0 or self.width < 1 or self.blocks < 1:
            raise ConfigError("--eval-every/--holdout-shards must be >= 0, --width/--blocks >= 1")
