"""LLaVA-1.5 (transformers LlavaForConditionalGeneration) behind the Captioner interface.

Batched with left padding and greedy decoding, so a batch gives the same captions as
one-at-a-time generation. Loads only from a local folder (local_files_only).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from PIL import Image

from dalpsr_data.caption.config import ENV_LLAVA, TORCH_DTYPES, CaptionConfig
from dalpsr_data.caption.instruction import clean_answer, llava_prompt
from dalpsr_data.caption.interfaces import Models
from dalpsr_data.caption.llava_io import load_vision_tower
from dalpsr_data.caption.ram_tagger import RamTagger
from dalpsr_data.config_io import ConfigError

REQUIRED_FILES = ("config.json", "tokenizer_config.json")


def check_llava_folder(cfg: CaptionConfig) -> Path:
    """The LLaVA folder, checked before any work: it exists and holds a llava config."""
    if not cfg.llava:
        raise ConfigError(f"no LLaVA model: pass --llava FOLDER (a local llava-1.5-7b-hf copy) or set ${ENV_LLAVA}")
    folder = Path(cfg.llava)
    missing = [n for n in REQUIRED_FILES if not (folder / n).is_file()]
    if missing:
        raise ConfigError(f"LLaVA folder {folder} lacks {missing}: give a local folder in the "
                          f"llava-hf/llava-1.5-7b-hf layout with --llava")
    model_type = json.loads((folder / "config.json").read_text(encoding="utf-8")).get("model_type")
    if model_type != "llava":
        raise ConfigError(f"{folder}/config.json has model_type {model_type!r}, expected 'llava'")
    if cfg.vision_tower and not Path(cfg.vision_tower).is_dir():
        raise ConfigError(f"--vision-tower {cfg.vision_tower} is not a folder saved by `dalpsr-train encoder`")
    return folder


class LlavaCaptioner:
    """caption(images, instructions) -> cleaned captions, one generate call per batch."""

    def __init__(self, cfg: CaptionConfig, device: str) -> None:
        import torch
        from transformers import AutoProcessor, LlavaForConditionalGeneration
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # per-weight bars would interleave with our own progress
        folder = check_llava_folder(cfg)
        processor = AutoProcessor.from_pretrained(folder, local_files_only=True)
        model = LlavaForConditionalGeneration.from_pretrained(
            folder, local_files_only=True, dtype=getattr(torch, TORCH_DTYPES[cfg.torch_dtype_name]),
            attn_implementation="sdpa")
        self._setup(model, processor, cfg, device, folder.name)

    @classmethod
    def from_parts(cls, model: Any, processor: Any, cfg: CaptionConfig, device: str) -> LlavaCaptioner:
        """Wrap an in-memory model + processor (benchmarks with random 7B weights)."""
        self = cls.__new__(cls)
        self._setup(model, processor, cfg, device, "in-memory")
        return self

    def _setup(self, model: Any, processor: Any, cfg: CaptionConfig, device: str, name: str) -> None:
        import torch

        self.cfg = cfg
        self.device = torch.device(device)
        self.processor = processor
        # Batched generation needs prompts aligned on the right: pad on the left.
        self.processor.tokenizer.padding_side = "left"
        self.model = model.to(self.device).eval()
        tower_meta = None
        if cfg.vision_tower:

            tower_meta = load_vision_tower(self.model, cfg.vision_tower)
        tok = self.processor.tokenizer
        self.pad_token_id = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        self.info = {"folder": name, "name_or_path": str(self.model.config._name_or_path),
                     "dtype": cfg.torch_dtype_name, "max_new_tokens": cfg.max_new_tokens,
                     "vision_tower": Path(cfg.vision_tower).name if cfg.vision_tower else None,
                     "vision_tower_meta": {k: tower_meta[k] for k in ("class", "num_tensors")} if tower_meta else None}

    def caption(self, images: Sequence[Image.Image], instructions: Sequence[str]) -> list[str]:
        import torch

        prompts = [llava_prompt(s) for s in instructions]
        inputs = self.processor(images=[im.convert("RGB") for im in images], text=prompts,
                                return_tensors="pt", padding=True)
        inputs = {k: v.to(self.device) for k, v in inputs.items()}
        inputs["pixel_values"] = inputs["pixel_values"].to(self.model.dtype)
        with torch.inference_mode():
            out = self.model.generate(**inputs, max_new_tokens=self.cfg.max_new_tokens, do_sample=False,
                                      num_beams=1, pad_token_id=self.pad_token_id)
        new_tokens = out[:, inputs["input_ids"].shape[1]:]
        texts = self.processor.batch_decode(new_tokens, skip_special_tokens=True)
        return [clean_answer(t) for t in texts]

    def describe(self) -> dict[str, Any]:
        return dict(self.info)


def build_models(cfg: CaptionConfig):
    """The production ModelFactory: RAM (unless --tagger none) and LLaVA on cfg.device."""

    tagger = RamTagger(cfg, cfg.device) if cfg.tagger == "ram" else None
    return Models(tagger=tagger, captioner=LlavaCaptioner(cfg, cfg.device))
