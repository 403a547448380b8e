"""The RAM architecture description, inferred from checkpoint tensor shapes.

The official checkpoints carry no configuration, so every size is read from the
shapes of the weights (embed dim, depths, heads, window, widths, number of tags). Two
facts are not in the shapes and come from the official configs: the tagging head has 4
attention heads (q2l_config.json) and the input resolution (384 for the released
Swin-L checkpoints; a CLI option for other encoders). Reading sizes from shapes lets the
same code load the 1.5 GB release and the tiny random models of the tests.
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Mapping

import torch

from dalpsr_data.caption.config import RAM_VARIANTS as VARIANTS

HEAD_ATTENTION_HEADS = 4  # official q2l_config.json: num_attention_heads
DESCRIPTIONS_PER_TAG = 51  # RAM++ release: 51 LLM descriptions per tag

@dataclasses.dataclass(frozen=True)
class RamArch:
    """Sizes of one RAM / RAM++ model (Swin-L 384 release values in the comments)."""

    variant: str  # "ram" or "ram_plus"
    image_size: int  # 384
    patch_size: int  # 4
    embed_dim: int  # 192
    depths: tuple[int, ...]  # (2, 2, 18, 2)
    num_heads: tuple[int, ...]  # (6, 12, 24, 48)
    window_size: int  # 12
    vision_width: int  # 1536 = embed_dim * 2**(stages-1)
    label_width: int  # 512: label embeddings and image_proj output
    head_hidden: int  # 768
    head_layers: int  # 2
    head_ffn: int  # 3072
    num_tags: int  # 4585
    descriptions_per_tag: int  # 1 for RAM, 51 for RAM++
    has_wordvec_proj: bool  # False only when head_hidden == label_width

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {self.variant!r}")
        if self.head_hidden % HEAD_ATTENTION_HEADS:
            raise ValueError(f"head hidden size {self.head_hidden} is not a multiple of {HEAD_ATTENTION_HEADS}")
        grid = self.image_size // self.patch_size
        if self.image_size % self.patch_size or grid % (2 ** (len(self.depths) - 1)):
            raise ValueError(f"image size {self.image_size} does not fit patch {self.patch_size} "
                             f"and {len(self.depths)} stages")


def _count(prefix_re: str, keys: list[str]) -> int:
    found = {int(m.group(1)) for k in keys if (m := re.match(prefix_re, k))}
    if found and found != set(range(len(found))):
        raise ValueError(f"non-contiguous indices for {prefix_re!r}: {sorted(found)}")
    return len(found)


def infer_arch(state: Mapping[str, torch.Tensor], variant: str, num_tags: int,
               image_size: int) -> RamArch:
    """Read a RamArch from a renamed state dict (``visual_encoder.*`` in timm layout).

    ``num_tags`` is the length of the tag list; it decides RAM++'s descriptions per tag.
    Raises KeyError / ValueError with the offending key when a tensor is missing or odd.
    """
    keys = list(state)
    proj = state["visual_encoder.patch_embed.proj.weight"]  # (embed, 3, p, p)
    stages = _count(r"visual_encoder\.layers\.(\d+)\.", keys)
    depths = tuple(_count(rf"visual_encoder\.layers\.{i}\.blocks\.(\d+)\.", keys) for i in range(stages))
    heads, windows = [], []
    for i in range(stages):
        table = state[f"visual_encoder.layers.{i}.blocks.0.attn.relative_position_bias_table"]
        side = math.isqrt(table.shape[0])
        if side * side != table.shape[0]:
            raise ValueError(f"stage {i}: relative position table {tuple(table.shape)} is not square")
        heads.append(int(table.shape[1]))
        windows.append((side + 1) // 2)
    image_proj = state["image_proj.weight"]  # (label_width, vision_width)
    fc = state["fc.weight"]  # (1, head_hidden)
    label_rows = int(state["label_embed"].shape[0])
    if variant == "ram":
        per_tag = 1
        if label_rows != num_tags:
            raise ValueError(f"label_embed has {label_rows} rows but the tag list has {num_tags} lines "
                             f"(a RAM++ checkpoint, variant ram_plus?)")
    else:
        per_tag, rest = divmod(label_rows, num_tags)
        if rest or per_tag < 1:
            raise ValueError(f"label_embed has {label_rows} rows, not a multiple of the {num_tags} tags")
    return RamArch(
        variant=variant, image_size=image_size, patch_size=int(proj.shape[-1]),
        embed_dim=int(proj.shape[0]), depths=depths, num_heads=tuple(heads), window_size=windows[0],
        vision_width=int(image_proj.shape[1]), label_width=int(image_proj.shape[0]),
        head_hidden=int(fc.shape[1]),
        head_layers=_count(r"tagging_head\.encoder\.layer\.(\d+)\.", keys),
        head_ffn=int(state["tagging_head.encoder.layer.0.intermediate.dense.weight"].shape[0]),
        num_tags=num_tags, descriptions_per_tag=per_tag,
        has_wordvec_proj="wordvec_proj.weight" in state)


SWIN_L_384 = dict(image_size=384, patch_size=4, embed_dim=192, depths=(2, 2, 18, 2),
                  num_heads=(6, 12, 24, 48), window_size=12, vision_width=1536, label_width=512,
                  head_hidden=768, head_layers=2, head_ffn=3072, has_wordvec_proj=True)


def swin_l_arch(variant: str = "ram", num_tags: int = 4585) -> RamArch:
    """The released RAM / RAM++ Swin-L 384 sizes (for random-weight benchmarks)."""
    per_tag = 1 if variant == "ram" else DESCRIPTIONS_PER_TAG
    return RamArch(variant=variant, num_tags=num_tags, descriptions_per_tag=per_tag, **SWIN_L_384)
