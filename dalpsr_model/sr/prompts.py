"""Pass 1: decode every LR, predict its restoration prompt (IRPAD) and caption it (RAM -> LLaVA).

Records go to ``OUT/prompts.jsonl``, one JSON object per image::

    key, status ("ok" | "error"), reason, size [w, h], conversions (decode's list),
    restoration, caption, tags, instruction

Commit protocol: records are appended a batch at a time and fsynced; a line is committed
once its newline is on disk. A killed run leaves at most a partial last line, which the
next run cuts off before it appends; keys already recorded are not redone (resume).

The restoration prompt is ``IrpadPredictor.image_prompt`` (IRPAD over a grid of 128 px crops
of the LR, log-probabilities averaged). Captions come from the caption stage's own
``caption_batch`` (same tagger, instruction and cleaning as `dalpsr-data caption`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable, Iterable

from dalpsr_data.caption.config import CaptionConfig
from dalpsr_data.caption.stage import caption_batch
from dalpsr_data.decode import DecodedImage, DecodeError, decode_bytes
from dalpsr_model.irpad.predictor import IrpadPredictor

from .config import SRConfig
from .inputs import InputItem

PROMPTS_JSONL = "prompts.jsonl"


class StrictInputError(RuntimeError):
    """--strict: an input could not be processed."""


def caption_config(cfg: SRConfig, device: str) -> CaptionConfig:
    """The caption stage's config for SR's captions (LR image, device of this run)."""
    return CaptionConfig(llava=cfg.llava, ram_checkpoint=cfg.ram_checkpoint, ram_image_size=cfg.ram_image_size,
                         vision_tower=cfg.vision_tower, max_new_tokens=cfg.caption_max_new_tokens,
                         device=device, batch_size=cfg.batch_size, tag_batch_size=cfg.batch_size,
                         image="lr").resolved()


def read_records(out: str | Path) -> dict[str, dict[str, Any]]:
    """Committed records of ``OUT/prompts.jsonl`` by key; cuts off a partial last line."""
    path = Path(out) / PROMPTS_JSONL
    if not path.is_file():
        return {}
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    if end < len(data):  # a killed writer's partial line: never committed
        with open(path, "r+b") as f:
            f.truncate(end)
    records = {}
    for line in data[:end].decode("utf-8").splitlines():
        if line.strip():
            rec = json.loads(line)
            records[rec["key"]] = rec
    return records


def append_records(out: str | Path, records: Iterable[dict[str, Any]]) -> None:
    """Append records (one line each) and fsync: the commit of this batch."""
    text = "".join(json.dumps(r, sort_keys=True, ensure_ascii=False) + "\n" for r in records)
    with open(Path(out) / PROMPTS_JSONL, "a", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def decode_item(item: InputItem, max_pixels: int) -> DecodedImage:
    """The LR as 8-bit RGB with the build's decoding rules; DecodeError with a reason code."""
    try:
        data = item.read()
    except OSError as e:
        raise DecodeError("read_error", str(e)) from None
    return decode_bytes(data, max_pixels)


def _record(key: str) -> dict[str, Any]:
    return {"key": key, "status": "ok", "reason": "", "size": [0, 0], "conversions": [],
            "restoration": "", "caption": "", "tags": [], "instruction": ""}


def prompt_batch(items: list[InputItem], cfg: SRConfig, predictor: Any, models: Any, ccfg: Any,
                 captions: dict[str, str] | None) -> list[dict[str, Any]]:
    """Records of one batch; a bad image is an error record (StrictInputError with --strict)."""
    from PIL import Image

    records, images = [], []
    for item in items:
        rec = _record(item.key)
        try:
            img = decode_item(item, cfg.max_pixels)
        except DecodeError as e:
            if cfg.strict:
                raise StrictInputError(f"{item.path}: {e}") from None
            rec.update(status="error", reason=f"decode: {e}")
            img = None
        else:
            rec.update(size=list(img.size), conversions=list(img.conversions))
            rec["restoration"] = cfg.restoration_prompt or predictor.image_prompt(img.rgb)
            if captions is not None:
                rec["caption"] = captions[item.key]
        records.append(rec)
        images.append(img)
    if models is not None:
        ok = [(r, im) for r, im in zip(records, images) if im is not None]
        sizes = {"tag": ccfg.tag_batch_size, "caption": ccfg.batch_size}
        capped, _ = caption_batch([(r["key"], Image.fromarray(im.rgb), "") for r, im in ok], ccfg, models, sizes)
        for (rec, _), cap in zip(ok, capped):
            if cap["status"] != "ok":
                if cfg.strict:
                    raise StrictInputError(f"{rec['key']}: {cap['reason']}")
                rec.update(status="error", reason=cap["reason"])
            rec.update(caption=cap["caption"], tags=cap["tags"], instruction=cap["instruction"])
    return records


def run_prompts(cfg: SRConfig, items: list[InputItem], device: str, load_captioner: Callable[[Any], Any],
                captions: dict[str, str] | None, on_batch: Callable[[list[dict[str, Any]]], None]) -> None:
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
