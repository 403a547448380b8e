"""Reading an upload and pass 1 (the "Analyse" button): the same code as `dalpsr-sr`'s pass 1.

    upload = read_upload(path, max_pixels)     # InputProblem with a message for the page
    result = analyse(models, upload)           # restoration prompt, IRPAD bin probabilities,
                                               # RAM tags, LLaVA caption

The restoration prompt is the arg-max bin per type of ``IrpadPredictor.image_log_probs``
(mean log-probabilities over a grid of 128 px crops), exactly `dalpsr-sr`'s; the probabilities
shown are the softmax of those means, so each type's row sums to 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dalpsr_data import schema
from dalpsr_data.caption.stage import caption_batch
from dalpsr_data.decode import DecodeError, decode_bytes
from dalpsr_model.irpad.prompts import bins_to_prompt

from .models import AppModels

ACCEPTED = (".png", ".jpg", ".jpeg", ".webp")
# What a visitor reads for each of decode_bytes' reason codes.
DECODE_MESSAGES = {
    "empty_file": "is empty",
    "not_an_image": "is not an image that can be read (PNG, JPEG or WebP expected)",
    "truncated": "is truncated (the file ends before the image does)",
    "too_large": "is too large",
    "decode_error": "could not be decoded",
}


class InputProblem(ValueError):
    """A problem with what a visitor gave (file, prompt, setting): its message is shown on the page."""


@dataclass(frozen=True)
class Upload:
    """One decoded LR: ``name`` the file's name as uploaded, ``key`` its stem (seeds the
    noise, as `dalpsr-sr NAME` does), ``rgb`` uint8 (H, W, 3), ``conversions`` decode's list."""

    name: str
    key: str
    rgb: np.ndarray
    conversions: tuple[str, ...]

    @property
    def size(self) -> tuple[int, int]:
        return self.rgb.shape[1], self.rgb.shape[0]


@dataclass(frozen=True)
class Analysis:
    """Pass 1 of one LR: ``probs`` float (3, 4), rows blur / noise / jpeg, columns bins 0-3."""

    restoration: str
    probs: np.ndarray
    tags: tuple[str, ...]
    caption: str


def read_upload(path: str | Path, max_pixels: int) -> Upload:
    """Decode an uploaded file with the build's rules (EXIF orientation, CMYK, 16 bit, palette)."""
    p = Path(path)
    if p.suffix.lower() not in ACCEPTED:
        raise InputProblem(f"{p.name}: not a PNG, JPEG or WebP file ({', '.join(ACCEPTED)})")
    try:
        img = decode_bytes(p.read_bytes(), max_pixels)
    except DecodeError as e:
        detail = DECODE_MESSAGES.get(e.reason, "could not be decoded")
        if e.reason == "too_large":
            detail += f" ({e.detail}; the limit is --max-pixels {max_pixels})"
        raise InputProblem(f"{p.name} {detail}") from None
    return Upload(name=p.name, key=p.stem, rgb=img.rgb, conversions=tuple(img.conversions))


def softmax_rows(log_probs: Any) -> np.ndarray:
    """(3, 4) float: each row's softmax (a row of mean log-probabilities -> probabilities)."""
    x = np.asarray(log_probs, dtype=np.float64)
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def analyse(models: AppModels, upload: Upload) -> Analysis:
    """IRPAD's restoration prompt and bin probabilities, RAM tags and the LLaVA caption."""
    from PIL import Image

    with models.pass1() as (predictor, captioner):
        log_probs = predictor.image_log_probs(upload.rgb)
        restoration = bins_to_prompt(log_probs.argmax(-1).tolist())
        probs = softmax_rows(log_probs.numpy())
        if captioner is None:
            return Analysis(restoration, probs, (), "")
        ccfg = models.caption_cfg
        [rec], _ = caption_batch([(upload.key, Image.fromarray(upload.rgb), "")], ccfg, captioner,
                                 {"tag": 1, "caption": 1})
    if not rec.ok:
        raise InputProblem(f"{upload.name}: captioning failed ({rec.reason})")
    return Analysis(restoration, probs, tuple(rec.tags), rec.caption)


def probs_table(probs: np.ndarray) -> list[list[str]]:
    """Rows [type, bin 0 %, ..., bin 3 %] for the page's table."""
    return [[t, *(f"{100 * p:.1f}%" for p in row)] for t, row in zip(schema.DEGRADATION_TYPES, probs)]
