"""A tiny random RAM / RAM++ written in the official checkpoint layout, for tests.

Same architecture as the release with tiny sizes (Swin 64 px, embed 8, depths 2/2/2/2;
head hidden 16, 2 layers), saved the way the official ``.pth`` files are: ``{'model':
state_dict, 'optimizer': ...}`` with ``vision_multi`` names, Swin downsampling at the
end of a stage, the ``relative_position_index`` / ``attn_mask`` buffers, and BLIP
``tag_encoder`` / ``text_decoder`` tensors the tagger must skip.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import torch

from dalpsr_data.caption.ram.arch import RamArch
from dalpsr_data.caption.ram.model import RamModel

TINY_IMAGE_SIZE = 64
TINY_TAGS = ["flower", "lotus", "water", "sky", "building", "dog", "car", "tree"]


def tiny_arch(variant: str = "ram", num_tags: int = len(TINY_TAGS), per_tag: int = 3) -> RamArch:
    return RamArch(variant=variant, image_size=TINY_IMAGE_SIZE, patch_size=4, embed_dim=8,
                   depths=(2, 2, 2, 2), num_heads=(2, 2, 4, 4), window_size=4, vision_width=64,
                   label_width=12, head_hidden=16, head_layers=2, head_ffn=32, num_tags=num_tags,
                   descriptions_per_tag=1 if variant == "ram" else per_tag, has_wordvec_proj=True)


def official_state_dict(model: RamModel) -> dict[str, torch.Tensor]:
    """Our (timm-layout) state dict -> the official RAM key layout with its extra tensors."""
    out: dict[str, torch.Tensor] = {}
    for key, value in model.state_dict().items():
        # timm downsamples at the start of stage i+1; the official Swin at the end of stage i
        key = re.sub(r"visual_encoder\.layers\.(\d+)\.downsample",
                     lambda m: f"visual_encoder.layers.{int(m.group(1)) - 1}.downsample", key)
        out[key.replace("tagging_head", "vision_multi")] = value.clone()
    for name, module in model.visual_encoder.named_modules():
        if hasattr(module, "relative_position_index"):
            out[f"visual_encoder.{name}.relative_position_index"] = module.relative_position_index.clone()
        mask = getattr(module, "attn_mask", None)
        if isinstance(mask, torch.Tensor):
            out[f"visual_encoder.{name}.attn_mask"] = mask.clone()
    hidden = model.arch.head_hidden
    for i in range(model.arch.head_layers):  # deleted by the official del_selfattention
        out[f"vision_multi.encoder.layer.{i}.attention.self.query.weight"] = torch.zeros(hidden, hidden)
    out["vision_multi.embeddings.word_embeddings.weight"] = torch.zeros(5, hidden)
    out["tag_encoder.encoder.layer.0.attention.self.query.weight"] = torch.zeros(4, 4)
    out["text_decoder.cls.predictions.bias"] = torch.zeros(7)
    return out


def build_tiny_ram(folder: str | Path, variant: str = "ram", seed: int = 0, config_object: bool = False,
                   drop_reweight_scale: bool = False, thresholds: list[float] | None = None) -> Path:
    """Write ``<variant>_tiny.pth``, ram_tag_list.txt and ram_tag_list_threshold.txt; returns the .pth.

    ``config_object`` adds an ``argparse.Namespace`` entry that weights-only loading refuses.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = RamModel(tiny_arch(variant))
        with torch.no_grad():
            model.label_embed.normal_()
            model.fc.weight.normal_(std=1.0)  # spread logits so some tags fire and some do not
            model.fc.bias.fill_(0.5)
    state = official_state_dict(model)
    if drop_reweight_scale:
        state.pop("reweight_scale")
    ckpt: dict = {"model": state, "optimizer": {"state": {}, "param_groups": [{"lr": 1e-4, "params": [0]}]},
                  "epoch": 3}
    if config_object:
        ckpt["config"] = argparse.Namespace(vit="swin_l", image_size=384)
    path = folder / f"{variant}_tiny.pth"
    torch.save(ckpt, path)
    (folder / "ram_tag_list.txt").write_text("\n".join(TINY_TAGS) + "\n", encoding="utf-8")
    values = thresholds or [0.5, 0.6, 0.7, 0.8, 0.5, 0.6, 0.7, 0.8]
    (folder / "ram_tag_list_threshold.txt").write_text("\n".join(str(v) for v in values) + "\n", encoding="utf-8")
    return path
