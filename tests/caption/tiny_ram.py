"""A small random RAM / RAM++ checkpoint in the official layout, for tests.

The keys, shapes and weight ties are the ones the official recognize-anything model
classes produce (recorded in ``reference/ram_reference.json`` by
``reference/make_ram_reference.py``, Swin-L geometry at 224 px with small widths, 12
tags), not derived from this project's own module names. The file is saved the way the
official ``.pth`` files are: ``{'model': state_dict, 'optimizer': ..., 'epoch': ...}``
with the BLIP ``tag_encoder`` / ``text_decoder`` tensors, zero-filled position-index and
attention-mask buffers, and (by default) the older ``vision_multi`` name of the head.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from dalpsr_data.caption.ram.arch import RamArch
from tests.caption.reference.make_ram_reference import TAGS, load_reference, official_state_dict, write_tag_files

TINY_IMAGE_SIZE = 224
TINY_TAGS = list(TAGS)
TINY_LABEL_WIDTH = 512  # fixed by the official code
DESCRIPTIONS_PER_TAG = 51  # fixed by the official RAM++ code


def official_spec(variant: str = "ram") -> list[list]:
    """[key, shape, dtype, tied_to] rows of the official state dict (224 px case)."""
    return load_reference()["cases"][f"{variant}_swinl{TINY_IMAGE_SIZE}"]["keys"]


def tiny_arch(variant: str = "ram", num_tags: int = 8, per_tag: int = 3) -> RamArch:
    """A 64 px random architecture for benchmark smoke runs (not an official layout)."""
    return RamArch(variant=variant, image_size=64, patch_size=4, embed_dim=8,
                   depths=(2, 2, 2, 2), num_heads=(2, 2, 4, 4), window_size=4, vision_width=64,
                   label_width=12, head_hidden=16, head_layers=2, head_ffn=32, num_tags=num_tags,
                   descriptions_per_tag=1 if variant == "ram" else per_tag, has_wordvec_proj=True)


def build_tiny_ram(folder: str | Path, variant: str = "ram", seed: int = 0, config_object: bool = False,
                   drop_reweight_scale: bool = False, thresholds: list[float] | None = None,
                   vision_multi: bool = True) -> Path:
    """Write ``<variant>_tiny.pth``, ram_tag_list.txt and ram_tag_list_threshold.txt; returns the .pth.

    ``config_object`` adds an ``argparse.Namespace`` entry that weights-only loading refuses.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = official_state_dict(official_spec(variant), seed)
    if vision_multi:
        state = {k.replace("tagging_head", "vision_multi"): v for k, v in state.items()}
    if drop_reweight_scale:
        state.pop("reweight_scale")
    ckpt: dict = {"model": state, "optimizer": {"state": {}, "param_groups": [{"lr": 1e-4, "params": [0]}]},
                  "epoch": 3}
    if config_object:
        ckpt["config"] = argparse.Namespace(vit="swin_l", image_size=TINY_IMAGE_SIZE)
    path = folder / f"{variant}_tiny.pth"
    torch.save(ckpt, path)
    write_tag_files(folder, thresholds)
    return path
