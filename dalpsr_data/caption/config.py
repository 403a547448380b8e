"""CaptionConfig: every option of `dalpsr-data caption`, checked before any work starts."""

from __future__ import annotations

import dataclasses
import os

from dalpsr_data.config_io import config_hash, opt, to_dict

DEFAULT_INSTRUCTION = "Describe this image and its style in a very detailed manner"
TAG_CLAUSE = " around the following tags: {tags}"
ENV_RAM = "DALPSR_RAM_CHECKPOINT"
ENV_LLAVA = "DALPSR_LLAVA"
# Options that change how fast the work runs but not what is written: a resumed run
# may change them (captions do not depend on batch size under greedy decoding).
RUNTIME_ONLY = ("gpus", "address", "batch_size", "tag_batch_size", "retries", "cpus_per_actor", "device",
                "overwrite")
# --dtype (resolved) -> torch attribute name, for RAM and LLaVA alike (torch is imported by
# the model loaders, not by this config module).
TORCH_DTYPES = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}
# The RAM releases the tagger loads (caption.ram.arch checks a checkpoint against these).
RAM_VARIANTS = ("ram", "ram_plus")


@dataclasses.dataclass(frozen=True)
class CaptionConfig:
    """Options of `dalpsr-data caption` (the CLI flags carry the same names)."""

    llava: str = opt("", "Local LLaVA-1.5 HF folder (llava-hf/llava-1.5-7b-hf layout); empty: $DALPSR_LLAVA.")
    tagger: str = opt("ram", "'ram' (RAM tags in the instruction) or 'none' (plain instruction).")
    ram_checkpoint: str = opt("", "RAM/RAM++ .pth or converted .safetensors; empty: $DALPSR_RAM_CHECKPOINT.")
    ram_variant: str = opt("ram", "'ram' (ram_swin_large_14m, as the paper and SeeSR) or 'ram_plus'.")
    ram_tag_list: str = opt("", "ram_tag_list.txt; empty: the file beside the checkpoint.")
    ram_thresholds: str = opt("", "ram_tag_list_threshold.txt; empty: the file beside the checkpoint.")
    ram_image_size: int = opt(384, "RAM input resolution (384 for the released Swin-L).")
    ram_allow_unsafe_load: bool = opt(False, "Fully unpickle a trusted .pth that weights-only loading refuses.")
    ram_dtype: str = opt("fp32", "RAM's Swin encoder precision: fp32 (as the official inference), bf16 or fp16 "
                                 "(CUDA only); the tagging head always runs in fp32. Apart from --dtype: "
                                 "thresholds sit at 0.65-0.9, where bf16 can flip tags.")
    max_tags: int = opt(0, "Most probable tags put in the instruction (0: every tag above its threshold).")
    instruction: str = opt(DEFAULT_INSTRUCTION, "Instruction before the tag clause.")
    vision_tower: str = opt("", "LR-aligned vision tower folder saved by `dalpsr-train encoder`.")
    image: str = opt("lr", "Image captioned: 'lr' (the paper) or 'hr' (ablation).")
    max_new_tokens: int = opt(128, "LLaVA tokens generated per caption.")
    dtype: str = opt("auto", "auto (bf16 on cuda, fp32 on cpu), bf16, fp16 or fp32.")
    device: str = opt("cuda", "'cuda' or 'cpu'.")
    gpus: int = opt(1, "Ray actors, one GPU each (one CPU slot each with --device cpu).")
    address: str = opt("", "Address of an existing Ray cluster (empty: start a local one).")
    batch_size: int = opt(16, "Images per LLaVA generate call (halved on CUDA OOM).")
    tag_batch_size: int = opt(32, "Images per RAM forward.")
    retries: int = opt(2, "Times a failing shard is redone (it raised, or its actor died).")
    cpus_per_actor: int = opt(1, "CPU slots reserved per Ray actor.")
    overwrite: bool = opt(False, "Delete the earlier captions of BUILD (sidecars, markers, caption.json) "
                                 "and caption every shard again; other files stay.")

    def __post_init__(self) -> None:
        choices = {"tagger": ("ram", "none"), "ram_variant": RAM_VARIANTS, "image": ("lr", "hr"),
                   "dtype": ("auto", *TORCH_DTYPES), "device": ("cuda", "cpu")}
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
        if self.ram_dtype not in TORCH_DTYPES:
            raise ValueError(f"ram_dtype must be one of {tuple(TORCH_DTYPES)}, got {self.ram_dtype!r}")
        if self.device == "cpu" and self.ram_dtype != "fp32":
            raise ValueError("--ram-dtype bf16/fp16 needs --device cuda; use --ram-dtype fp32 on CPU")

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
