"""Pass 2 (the "Super-resolve" button): one LR, the prompts as edited, the page's settings.

The request becomes the :class:`SRConfig` that `dalpsr-sr` would run with
(``config.request_config``) and goes through the same SRPipeline and PNG writer, so the
PNG is byte-identical to ``dalpsr-sr NAME --restoration-prompt R --captions
NAME.captions.jsonl ...``. The settings JSON has `dalpsr-sr`'s run.json fields (its
output_hash is the one that run computes) plus the prompts, the captions line and that
command line.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Callable

import numpy as np

from dalpsr_data.atomic import write_json_atomic
from dalpsr_data.config_io import ConfigError, to_dict
from dalpsr_model.sr.config import SRConfig
from dalpsr_model.sr.outputs import run_record, write_png
from dalpsr_model.sr.pipeline import SRPipeline

from .analyse import InputProblem, Upload
from .config import AppConfig, request_config
from .models import AppModels

# run.json fields a request leaves out of the command line: placeholders, and the progress bar.
# --batch-size 1 stays: images batched together agree only within one 8-bit level.
NOT_ON_COMMAND_LINE = ("inputs", "out", "progress")


@dataclass(frozen=True)
class SRResult:
    """``png``: ``<stem>_x4.png``; ``settings``: ``<stem>_x4.json``; ``bicubic``/``sr``:
    uint8 (4H, 4W, 3) arrays for the before/after slider."""

    png: Path
    settings: Path
    bicubic: np.ndarray
    sr: np.ndarray


def safe_stem(key: str) -> str:
    """A file-name-safe version of an uploaded file's stem (never empty, at most 100 chars)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", key).strip("._")[:100] or "image"


def captions_line(key: str, caption: str) -> str:
    """The one line of ``<stem>.captions.jsonl`` that gives `dalpsr-sr` this caption."""
    return json.dumps({"key": key, "caption": caption}, ensure_ascii=False) + "\n"


def command_line(cfg: SRConfig) -> list[str]:
    """`dalpsr-sr` arguments that give ``cfg`` (options that differ from the defaults)."""
    defaults = {f.name: f.default for f in fields(SRConfig)}
    args = ["dalpsr-sr", *cfg.inputs, "--out", cfg.out]
    for name, value in to_dict(cfg).items():
        if name in NOT_ON_COMMAND_LINE or value == defaults[name]:
            continue
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            args.append(flag if value or name.startswith("no_") else f"--no-{flag[2:]}")
        else:
            args += [flag, str(value)]
    return args


def settings_record(models: AppModels, sr_cfg: SRConfig, upload: Upload, caption: str,
                    timing: dict[str, float]) -> dict[str, Any]:
    """`dalpsr-sr`'s run.json for ``sr_cfg`` plus "prompts", "captions_jsonl", "command" and
    "timing" (start and end of the job, seconds since the epoch)."""
    record = json.loads(json.dumps(models.record()))  # a copy: the cached record stays as it is
    line = captions_line(upload.key, caption) if caption else ""
    if line:
        record["paths"]["captions"] = sr_cfg.captions
        record["sha256"]["captions"] = {sr_cfg.captions: hashlib.sha256(line.encode("utf-8")).hexdigest()}
    return {**run_record(sr_cfg, record, models.device, models.dtype_name),
            "prompts": {"key": upload.key, "restoration": sr_cfg.restoration_prompt, "caption": caption,
                        "negative": sr_cfg.negative_prompt, "added": sr_cfg.added_prompt},
            "captions_jsonl": line, "command": command_line(sr_cfg), "timing": timing}


def bicubic_x4(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The LR resized (bicubic) to ``size`` (W, H): the slider's "before"."""
    from PIL import Image

    return np.asarray(Image.fromarray(rgb).resize(size, Image.BICUBIC))


def super_resolve(models: AppModels, cfg: AppConfig, upload: Upload, restoration: str, caption: str,
                  settings: dict[str, Any], workdir: Path,
                  on_step: Callable[[int, int], None] | None = None) -> SRResult:
    """Pass 2 of one request; InputProblem for an empty restoration prompt or a bad setting.

    ``on_step(done, total)`` after each UNet evaluation of each latent tile (units = steps x
    tiles): the page's progress bar, and where a stopping server ends the job."""
    if not restoration.strip():
        raise InputProblem("the restoration prompt is empty: click Analyse, or type one "
                           "(e.g. 'Deblur with sigma 0~0.25, Denoise with sigma 0~0.25, Dejpeg with sigma 0~0.25')")
    try:
        sr_cfg = request_config(cfg, upload.name, restoration, caption, **settings)
    except ConfigError as e:
        raise InputProblem(f"setting out of range: {e}") from None
    start = time.time()
    pipe = SRPipeline(models.pipe.base, models.pipe.controlnet, sr_cfg, models.device)
    [sr] = pipe([upload.rgb], [restoration], [caption], [upload.key], on_step=on_step)
    workdir.mkdir(parents=True, exist_ok=True)
    stem = f"{safe_stem(upload.key)}_x4"
    png = write_png(workdir, stem, sr)
    settings_path = workdir / f"{stem}.json"
    timing = {"start": start, "end": time.time()}
    write_json_atomic(settings_path, settings_record(models, sr_cfg, upload, caption, timing))
    return SRResult(png, settings_path, bicubic_x4(upload.rgb, (sr.shape[1], sr.shape[0])), sr)
