"""RAM / RAM++ behind the Tagger interface: load checks, fp32 head, batched tagging."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from PIL import Image

from dalpsr_data.caption.config import ENV_RAM, TORCH_DTYPES, CaptionConfig
from dalpsr_data.caption.interfaces import TagList
from dalpsr_data.caption.ram import decode_tags, load_ram, preprocess_images, read_tag_files
from dalpsr_data.caption.ram.checkpoint import RamCheckpointError, check_checkpoint_file
from dalpsr_data.caption.ram.options import CAPTION_OPTIONS
from dalpsr_data.caption.ram.tags import TagFileError, default_tag_paths
from dalpsr_data.config_io import ConfigError


def ram_paths(cfg: CaptionConfig) -> tuple[Path, Path, Path]:
    """(checkpoint, tag list, thresholds), checked to exist; ConfigError says which option fixes it."""

    if not cfg.ram_checkpoint:
        raise ConfigError(f"no RAM checkpoint: pass --ram-checkpoint PATH (or set ${ENV_RAM}), "
                          f"or --tagger none to caption without tags")
    try:  # exists and looks like a checkpoint: a wrong file fails before any work
        ckpt = check_checkpoint_file(cfg.ram_checkpoint, CAPTION_OPTIONS)
    except RamCheckpointError as e:
        raise ConfigError(str(e)) from e
    tag_default, thr_default = default_tag_paths(ckpt)
    tag_list = Path(cfg.ram_tag_list) if cfg.ram_tag_list else tag_default
    thresholds = Path(cfg.ram_thresholds) if cfg.ram_thresholds else thr_default
    for path, option in ((tag_list, "--ram-tag-list"), (thresholds, "--ram-thresholds")):
        if not path.is_file():
            raise ConfigError(f"{path} not found: place the official {path.name} beside the RAM checkpoint "
                              f"or pass its path with {option}")
    return ckpt, tag_list, thresholds


class RamTagger:
    """Tags PIL images with RAM; the Swin encoder runs in ``cfg.ram_dtype`` (fp32 default), the head in fp32."""

    def __init__(self, cfg: CaptionConfig, device: str) -> None:
        import torch


        ckpt, tag_list, thresholds = ram_paths(cfg)
        try:
            self.tags, self.thresholds = read_tag_files(tag_list, thresholds)
            model, info = load_ram(ckpt, cfg.ram_variant, len(self.tags), cfg.ram_image_size,
                                   cfg.ram_allow_unsafe_load)
        except (RamCheckpointError, TagFileError) as e:
            raise ConfigError(str(e)) from e
        self.device = torch.device(device)
        model.to(self.device)
        # RAM has its own precision (fp32 by default): --dtype is LLaVA's.
        dtype = getattr(torch, TORCH_DTYPES[cfg.ram_dtype])
        model.visual_encoder.to(dtype)
        self.dtype = dtype
        self.model = model
        self.cfg = cfg
        self.info = {"checkpoint": ckpt.name, "checkpoint_bytes": ckpt.stat().st_size,
                     "variant": cfg.ram_variant, "num_tags": len(self.tags),
                     "image_size": cfg.ram_image_size, "encoder_dtype": cfg.ram_dtype,
                     "skipped_keys": info["skipped_keys"],
                     "reweight_scale_default": info["reweight_scale_default"]}

    def tag(self, images: Sequence[Image.Image]) -> list[TagList]:
        import torch


        out: list[TagList] = []
        step = self.cfg.tag_batch_size
        for i in range(0, len(images), step):
            x = preprocess_images(images[i:i + step], self.cfg.ram_image_size)
            with torch.inference_mode():
                logits = self.model(x.to(self.device, self.dtype))
            out.extend(decode_tags(logits, self.tags, self.thresholds))
        return out

    def describe(self) -> dict[str, Any]:
        return dict(self.info)
