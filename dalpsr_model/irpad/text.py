"""Embed the twelve degradation prompts with Stable Diffusion's CLIP text encoder.

Reads ``<base_model>/tokenizer`` and ``<base_model>/text_encoder`` (diffusers layout) from
disk only. The pooled output (one vector per prompt) becomes IRPAD's fixed query source.
"""

from __future__ import annotations

from pathlib import Path

import torch

from dalpsr_data.config_io import ConfigError
from dalpsr_model.irpad.prompts import degradation_prompts


@torch.no_grad()
def embed_prompts_with_clip(base_model: str | Path) -> torch.Tensor:
    """(12, hidden) float32 pooled CLIP text embeddings of degradation_prompts()."""
    from transformers import CLIPTextModel, CLIPTokenizer

    root = Path(base_model)
    if not (root / "text_encoder").is_dir() or not (root / "tokenizer").is_dir():
        raise ConfigError(f"--base-model {root}: expected a diffusers folder with text_encoder/ "
                          f"and tokenizer/; leave --base-model empty to learn the query embeddings")
    tok = CLIPTokenizer.from_pretrained(root / "tokenizer", local_files_only=True)
    enc = CLIPTextModel.from_pretrained(root / "text_encoder", local_files_only=True).eval()
    ids = tok(degradation_prompts(), padding="max_length", truncation=True,
              max_length=tok.model_max_length, return_tensors="pt")
    return enc(input_ids=ids.input_ids).pooler_output.float()
