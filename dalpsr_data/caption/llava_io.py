"""Find, save and load the vision tower of a transformers ``LlavaForConditionalGeneration``.

The trainer's encoder stage aligns LLaVA's CLIP vision tower to LR images and saves it
with ``save_vision_tower``; ``dalpsr-data caption --vision-tower PATH`` swaps it back in
with ``load_vision_tower`` (strict: every tensor of the tower, nothing else).

Format of PATH (a folder): ``vision_tower.safetensors`` (the tower's state_dict, names
relative to the tower) and ``vision_tower.json`` (class name, vision config, tensor
count, format version).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from torch import nn

from dalpsr_data.atomic import write_json_atomic, write_safetensors_atomic

WEIGHTS_NAME = "vision_tower.safetensors"
META_NAME = "vision_tower.json"
FORMAT_VERSION = 1


def find_vision_tower(model: nn.Module) -> nn.Module:
    """The CLIP vision tower module of a LLaVA model (transformers 5: ``model.model.vision_tower``)."""
    for owner in (getattr(model, "model", None), model):
        tower = getattr(owner, "vision_tower", None) if owner is not None else None
        if isinstance(tower, nn.Module):
            return tower
    raise AttributeError(f"{type(model).__name__} has no vision_tower (expected a LlavaForConditionalGeneration)")


def save_vision_tower(model: nn.Module, path: str | Path) -> Path:
    """Write the tower's weights and a small json into folder ``path``; returns the folder."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    tower = find_vision_tower(model)
    state = {k: v.detach().contiguous().cpu().clone() for k, v in tower.state_dict().items()}
    write_safetensors_atomic(path / WEIGHTS_NAME, state)
    config = getattr(tower, "config", None)
    meta: dict[str, Any] = {"format_version": FORMAT_VERSION, "class": type(tower).__name__,
                            "num_tensors": len(state),
                            "config": config.to_dict() if config is not None else None}
    write_json_atomic(path / META_NAME, meta)
    return path


def load_vision_tower(model: nn.Module, path: str | Path) -> dict[str, Any]:
    """Load a saved tower into ``model`` in place (strict, cast to the tower's dtype); returns the json."""
    from safetensors.torch import load_file

    path = Path(path)
    weights, meta_path = path / WEIGHTS_NAME, path / META_NAME
    if not weights.is_file() or not meta_path.is_file():
        raise FileNotFoundError(f"{path} is not a saved vision tower: expected {WEIGHTS_NAME} and {META_NAME} "
                                f"(written by `dalpsr-train encoder`)")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    tower = find_vision_tower(model)
    if meta.get("class") != type(tower).__name__:
        raise ValueError(f"{path} holds a {meta.get('class')}, the model's tower is a {type(tower).__name__}")
    ref = next(tower.parameters())
    state = {k: v.to(dtype=ref.dtype) for k, v in load_file(str(weights)).items()}
    tower.load_state_dict(state, strict=True)
    return meta
