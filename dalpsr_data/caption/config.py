"""CaptionConfig: every option of `dalpsr-data caption`, checked before any work starts."""

from __future__ import annotations

import dataclasses
import os

from dalpsr_data.config_io import config_hash, to_dict

DEFAULT_INSTRUCTION = "Describe this image and its style in a very detailed manner"
TAG_CLAUSE = " around the following tags: {tags}"
ENV_RAM = "DALPSR_RAM_CHECKPOINT"
ENV_LLAVA = "DALPSR_LLAVA"
# Options that change how fast the work runs but not what is written: a resumed run
# may change them (captions do not depend on batch size under greedy decoding).
RUNTIME_ONLY = ("gpus", "address", "batch_size", "tag_batch_size", "retries", "cpus_per_actor", "device")


@dataclasses.dataclass(frozen=True)
class CaptionConfig:
    """Options of `dalpsr-data caption` (the CLI flags carry the same names)."""

    llava: str = ""  # local llava-1.5 HF folder; falls back to $DALPSR_LLAVA
    tagger: str = "ram"  # "ram" or "none" (plain instruction, no tags)
    ram_checkpoint: str = ""  # .pth or converted .safetensors; falls back to $DALPSR_RAM_CHECKPOINT
    ram_variant: str = "ram"  # "ram" (paper, SeeSR) or "ram_plus"
    ram_tag_list: str = ""  # default: ram_tag_list.txt beside the checkpoint
    ram_thresholds: str = ""  # default: ram_tag_list_threshold.txt beside the checkpoint
    ram_image_size: int = 384
    ram_allow_unsafe_load: bool = False  # full unpickling of a trusted .pth
    max_tags: int = 0  # 0 keeps every tag above its threshold; else the most probable N
    instruction: str = DEFAULT_INSTRUCTION
    vision_tower: str = ""  # LR-aligned tower saved by `dalpsr-train encoder`
    image: str = "lr"  # which image is captioned: "lr" (paper) or "hr" (ablation)
    max_new_tokens: int = 128
    dtype: str = "auto"  # auto: bf16 on cuda, fp32 on cpu
    device: str = "cuda"  # "cuda" or "cpu"
    gpus: int = 1  # Ray actors, one GPU each (or one CPU each with --device cpu)
    address: str = ""  # existing Ray cluster; empty starts a local one
    batch_size: int = 16  # LLaVA images per generate call (halved on CUDA OOM)
    tag_batch_size: int = 32  # RAM images per forward
    retries: int = 2  # times a shard is redone after its actor crashed
    cpus_per_actor: int = 1

    def __post_init__(self) -> None:
        choices = {"tagger": ("ram", "none"), "ram_variant": ("ram", "ram_plus"), "image": ("lr", "hr"),
                   "dtype": ("auto", "bf16", "fp16", "fp32"), "device": ("cuda", "cpu")}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        for name in ("gpus", "batch_size", "tag_batch_size", "max_new_tokens", "ram_image_size", "cpus_per_actor"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.max_tags < 0 or self.retries < 0:
            raise ValueError("max_tags and retries must be >= 0")
        if self.ram_image_size % 32:
            raise ValueError(f"ram_image_size must be a multiple of 32 (Swin), got {self.ram_image_size}")
        if self.device == "cpu" and self.dtype in ("bf16", "fp16"):
            raise ValueError("--dtype bf16/fp16 needs --device cuda; use --dtype auto or fp32 on CPU")

    def resolved(self) -> CaptionConfig:
        """Environment fallbacks for model paths filled in (what is saved and hashed)."""
        return dataclasses.replace(
            self, llava=self.llava or os.environ.get(ENV_LLAVA, ""),
            ram_checkpoint=self.ram_checkpoint or (os.environ.get(ENV_RAM, "") if self.tagger == "ram" else ""))

    @property
    def torch_dtype_name(self) -> str:
        if self.dtype != "auto":
            return self.dtype
        return "bf16" if self.device == "cuda" else "fp32"

    def output_hash(self) -> str:
        """Hash of the fields that decide the sidecar contents (resume compatibility)."""
        data = {k: v for k, v in to_dict(self).items() if k not in RUNTIME_ONLY}
        data["dtype"] = self.torch_dtype_name
        return config_hash(data)
