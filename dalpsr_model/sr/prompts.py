"""Pass 1: decode every LR, predict its restoration prompt (IRPAD) and caption it (RAM -> LLaVA).

One ``PromptRecord`` per image goes to ``OUT/prompts.jsonl`` (records.py: the record, its
JSON line and the commit protocol).

The restoration prompt is ``IrpadPredictor.image_prompt`` (IRPAD over a grid of 128 px crops
of the LR, log-probabilities averaged). Captions come from the caption stage's own
``caption_batch`` (same tagger, instruction and cleaning as `dalpsr-data caption`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable

from dalpsr_data.caption.config import CaptionConfig
from dalpsr_data.caption.stage import caption_batch
from dalpsr_data.decode import DecodedImage, DecodeError, decode_bytes
from dalpsr_model.irpad.predictor import IrpadPredictor

from .config import SRConfig
from .inputs import InputItem
from .records import PromptRecord


class StrictInputError(RuntimeError):
    """--strict: an input could not be processed."""


def caption_config(cfg: SRConfig, device: str) -> CaptionConfig:
    """The caption stage's config for SR's captions (LR image, device of this run)."""
    return CaptionConfig(llava=cfg.llava, ram_checkpoint=cfg.ram_checkpoint, ram_image_size=cfg.ram_image_size,
                         ram_variant=cfg.ram_variant, ram_tag_list=cfg.ram_tag_list,
                         ram_thresholds=cfg.ram_thresholds, ram_dtype=cfg.ram_dtype,
                         vision_tower=cfg.vision_tower, max_new_tokens=cfg.caption_max_new_tokens,
                         device=device, batch_size=cfg.batch_size, tag_batch_size=cfg.batch_size,
                         image="lr").resolved()


def decode_item(item: InputItem, max_pixels: int) -> DecodedImage:
    """The LR as 8-bit RGB with the build's decoding rules; DecodeError with a reason code."""
    try:
        data = item.read()
    except OSError as e:
        raise DecodeError("read_error", str(e)) from None
    return decode_bytes(data, max_pixels)


def prompt_batch(items: list[InputItem], cfg: SRConfig, predictor: Any, models: Any, ccfg: Any,
                 captions: dict[str, str] | None) -> list[PromptRecord]:
    """Records of one batch; a bad image is an error record (StrictInputError with --strict)."""
    from PIL import Image

    records, images = [], []
    for item in items:
        try:
            img = decode_item(item, cfg.max_pixels)
        except DecodeError as e:
            if cfg.strict:
                raise StrictInputError(f"{item.path}: {e}") from None
            rec = PromptRecord(item.key, status="error", reason=f"decode: {e}")
            img = None
        else:
            rec = PromptRecord(item.key, size=tuple(img.size), conversions=tuple(img.conversions),
                               restoration=cfg.restoration_prompt or predictor.image_prompt(img.rgb),
                               caption=captions[item.key] if captions is not None else "")
        records.append(rec)
        images.append(img)
    if models is not None:
        ok = [i for i, im in enumerate(images) if im is not None]
        sizes = {"tag": ccfg.tag_batch_size, "caption": ccfg.batch_size}
        capped, _ = caption_batch([(records[i].key, Image.fromarray(images[i].rgb), "") for i in ok],
                                  ccfg, models, sizes)
        for i, cap in zip(ok, capped):
            if not cap.ok and cfg.strict:
                raise StrictInputError(f"{records[i].key}: {cap.reason}")
            failed = {} if cap.ok else {"status": "error", "reason": cap.reason}
            records[i] = replace(records[i], caption=cap.caption, tags=cap.tags, instruction=cap.instruction, **failed)
    return records


def run_prompts(cfg: SRConfig, items: list[InputItem], device: str, load_captioner: Callable[[Any], Any],
                captions: dict[str, str] | None, on_batch: Callable[[list[PromptRecord]], None]) -> None:
    """Pass 1 over ``items`` (those not yet recorded); ``on_batch`` commits each batch's records.

    The IRPAD and caption models live only inside this call, so they are freed before pass 2.
    """
    import gc

    import torch

    if not items:
        return
    predictor = None if cfg.restoration_prompt else IrpadPredictor.load(cfg.irpad, device)
    ccfg = caption_config(cfg, "cuda" if str(device).startswith("cuda") else "cpu")
    models = load_captioner(ccfg) if cfg.use_captions and captions is None else None
    try:
        for i in range(0, len(items), cfg.batch_size):
            on_batch(prompt_batch(items[i:i + cfg.batch_size], cfg, predictor, models, ccfg, captions))
    finally:
        del predictor, models
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
