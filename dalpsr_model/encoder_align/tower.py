"""LLaVA's CLIP vision tower: loading, the features LLaVA consumes, freezing what follows.

LLaVA feeds its projector the hidden state ``vision_feature_layer`` (e.g. -2: the
penultimate encoder layer) of the tower, without the CLS token under the "default"
select strategy. Alignment trains exactly that path: encoder layers after the consumed
one and the post-layernorm never influence LLaVA, so they get no gradient and stay frozen.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from dalpsr_data.caption.llava_io import find_vision_tower
from dalpsr_data.config_io import ConfigError


@dataclass(frozen=True)
class TowerSpec:
    layers: tuple[int, ...]   # hidden_states indices LLaVA consumes (negative = from the end)
    strategy: str             # "default" (drop CLS) or "full"


class TowerHolder(nn.Module):
    """Holds a tower as ``.vision_tower`` so dalpsr_data.caption.llava_io.save_vision_tower accepts it."""

    def __init__(self, tower: nn.Module) -> None:
        super().__init__()
        self.vision_tower = tower


def check_llava_path(path: str | Path) -> Path:
    """``path`` as a Path when it holds a model config.json; else a ConfigError saying what to give."""
    path = Path(path)
    if not (path / "config.json").is_file():
        raise ConfigError(f"--llava {path}: no config.json; give a local llava-hf model folder "
                          f"(e.g. llava-1.5-7b-hf)")
    return path


def load_llava_tower(path: str | Path) -> tuple[nn.Module, TowerSpec, object]:
    """(vision tower in float32, TowerSpec, image processor) from a local llava-hf folder.

    The whole LLaVA is read once in its stored dtype (fp16 for llava-hf: ~14 GB for 7B,
    no rounding) and transformers handles its checkpoint layouts; the language model is
    dropped right after and only the tower is kept, cast to float32 for training.
    """
    from transformers import AutoImageProcessor, LlavaForConditionalGeneration

    path = check_llava_path(path)
    model = LlavaForConditionalGeneration.from_pretrained(path, local_files_only=True, dtype="auto")
    tower = find_vision_tower(model)
    layer = model.config.vision_feature_layer
    spec = TowerSpec(tuple(layer) if isinstance(layer, (list, tuple)) else (int(layer),),
                     str(model.config.vision_feature_select_strategy))
    tower = tower.float()
    del model
    processor = AutoImageProcessor.from_pretrained(path, local_files_only=True)
    return tower, spec, processor


def encoder_layers(tower: nn.Module) -> nn.ModuleList:
    for name, module in tower.named_modules():
        if name.endswith("encoder.layers") and isinstance(module, nn.ModuleList):
            return module
    raise ValueError(f"{type(tower).__name__}: no encoder.layers ModuleList found")


def freeze_unused(tower: nn.Module, spec: TowerSpec) -> list[str]:
    """requires_grad=False on layers after the last consumed hidden state and on the
    post-layernorm; returns the names of the frozen parameters."""
    layers = encoder_layers(tower)
    n = len(layers)
    # hidden_states[k] is the output of layer k-1 (hidden_states[0] = embeddings),
    # so hidden state k needs layers 0..k-1.
    needed = max(k % (n + 1) for k in spec.layers)
    frozen = []
    for name, p in tower.named_parameters():
        idx = _layer_index(name)
        if (idx is not None and idx >= needed) or "post_layernorm" in name:
            p.requires_grad_(False)
            frozen.append(name)
    return frozen


def _layer_index(name: str) -> int | None:
    parts = name.split(".")
    for a, b in zip(parts, parts[1:]):
        if a == "layers" and b.isdigit():
            return int(b)
    return None


def tower_features(tower: nn.Module, pixel_values: torch.Tensor, spec: TowerSpec) -> torch.Tensor:
    """(B, T, C * len(layers)) float: the hidden state(s) LLaVA's projector reads."""
    out = tower(pixel_values, output_hidden_states=True)
    feats = [out.hidden_states[k] for k in spec.layers]
    x = torch.cat(feats, dim=-1) if len(feats) > 1 else feats[0]
    return x[:, 1:] if spec.strategy == "default" else x


def preprocess(processor, images: torch.Tensor) -> torch.Tensor:
    """(B,3,H,W) float in [0,1] -> the tower's pixel_values (resized, cropped, normalised
    by the LLaVA image processor, as at captioning time)."""
    return processor(images=list(images), do_rescale=False, return_tensors="pt")["pixel_values"]
