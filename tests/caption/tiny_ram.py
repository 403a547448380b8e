"""Tiny random RAM / RAM++ checkpoints in the official layout for the caption tests.

The writer is the package's (dalpsr_data/caption/ram/tiny.py); the tests use the 224 px
cases of ``reference/ram_reference.json`` (RAM and RAM++ key specs recorded from the
official code) and add the faults the loader must report: a config object that
weights-only loading refuses, a RAM++ export without ``reweight_scale``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from dalpsr_data.caption.ram.arch import RamArch
from dalpsr_data.caption.ram.tiny import TAGS, official_state_dict, write_tag_files, write_tiny_ram
from tests.caption.reference.make_ram_reference import load_reference

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
    extra = {"config": argparse.Namespace(vit="swin_l", image_size=TINY_IMAGE_SIZE)} if config_object else None
    path = write_tiny_ram(folder / f"{variant}_tiny.pth", seed, official_spec(variant), vision_multi, extra,
                          drop=("reweight_scale",) if drop_reweight_scale else ())
    if thresholds is not None:
        write_tag_files(folder, thresholds)
    return path


__all__ = ["DESCRIPTIONS_PER_TAG", "TINY_IMAGE_SIZE", "TINY_LABEL_WIDTH", "TINY_TAGS", "build_tiny_ram",
           "official_spec", "official_state_dict", "tiny_arch"]
