"""`dalpsr-sr` end to end: check everything, pass 1 (prompts), pass 2 (diffusion), report.

Order: every check that can fail (inputs, model folders, captions file, OUT written with
other settings) runs before any model is loaded. Pass 1 records prompts for inputs not yet
in OUT/prompts.jsonl; pass 2 super-resolves every recorded image whose PNG does not exist
yet, grouped by processed size so that same-size images share a batch. A rerun after a
kill redoes only what was not committed, and gives the same files (per-image noise).
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable

from dalpsr_data.caption.llava_captioner import build_models, check_llava_folder
from dalpsr_data.caption.ram_tagger import ram_paths
from dalpsr_data.config_io import ConfigError
from dalpsr_data.outlock import holds_out_lock
from dalpsr_model.diffusion.base import check_base_folder
from dalpsr_model.irpad.io import read_irpad_meta

from . import outputs
from .config import SRConfig
from .inputs import InputItem, collect_inputs
from .parallel import run_pass2
from .pipeline import resolve_controlnet_dir, resolve_device
from .prompts import caption_config, run_prompts
from .records import PromptRecord, append_records, read_records
from .sizes import plan_size


def read_captions_file(path: str) -> dict[str, str]:
    """--captions FILE: JSON lines {"key": ..., "caption": ...}."""
    out = {}
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise ConfigError(f"--captions {path}: {e}") from e
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            out[str(rec["key"])] = str(rec["caption"])
        except (ValueError, KeyError, TypeError) as e:
            raise ConfigError(f"--captions {path}:{n}: expected {{\"key\": ..., \"caption\": ...}} ({e})") from e
    return out


def check_models(cfg: SRConfig, device: str) -> Path:
    """Every model folder the run will read, checked before work; returns the ControlNet folder."""
    check_base_folder(cfg.base)
    controlnet_dir = resolve_controlnet_dir(cfg.controlnet)
    if not cfg.restoration_prompt:
        try:
            read_irpad_meta(cfg.irpad)
        except (OSError, ValueError) as e:
            raise ConfigError(f"--irpad {cfg.irpad}: not the output folder of `dalpsr-train irpad` ({e})") from e
    if cfg.use_captions and not cfg.captions:
        ccfg = caption_config(cfg, "cuda" if device == "cuda" else "cpu")
        check_llava_folder(ccfg)
        ram_paths(ccfg)
    return controlnet_dir


def plan_batches(items: list[InputItem], records: dict[str, PromptRecord], out: str,
                 batch_size: int) -> list[list[InputItem]]:
    """Batches of images still to super-resolve, each of one size plan, in input order."""
    groups: dict[tuple, list[InputItem]] = defaultdict(list)
    for item in items:
        rec = records.get(item.key)
        if rec is None or not rec.ok or outputs.is_done(out, item.key):
            continue
        groups[plan_size(*rec.size).group].append(item)
    return [g[i:i + batch_size] for g in groups.values() for i in range(0, len(g), batch_size)]


@holds_out_lock
def run_sr(cfg: SRConfig, load_captioner: Callable[[Any], Any] = build_models,
           items: list[InputItem] | None = None) -> dict[str, Any]:
    """Run both passes for ``cfg``; returns the summary written to OUT/report.json.

    ``items``: ``collect_inputs(cfg.inputs)`` when the caller has already listed them."""
    start = time.perf_counter()
    items = collect_inputs(cfg.inputs) if items is None else items
    device, dtype = resolve_device(cfg)
    controlnet_dir = check_models(cfg, device)
    captions = read_captions_file(cfg.captions) if cfg.captions else None
    if captions is not None:
        missing = [it.key for it in items if it.key not in captions]
        if missing:
            raise ConfigError(f"--captions {cfg.captions} has no caption for {missing[:5]} ({len(missing)} keys)")
    dtype_name = str(dtype).removeprefix("torch.")
    outputs.write_run_json(cfg, outputs.model_record(cfg, controlnet_dir), device, dtype_name)
    outputs.clean_temporaries(cfg.out)

    records = read_records(cfg.out)
    todo = [it for it in items if it.key not in records]
    run_prompts(cfg, todo, device, load_captioner, captions,
                lambda recs: (append_records(cfg.out, recs), records.update({r.key: r for r in recs})))
    skipped = sum(outputs.is_done(cfg.out, it.key) for it in items)
    batches = plan_batches(items, records, cfg.out, cfg.batch_size)
    failed = {it.key: records[it.key].reason for it in items if not records[it.key].ok}
    written = 0
    if batches:
        def on_failure(batch: list[InputItem], reason: str) -> None:
            failed.update({it.key: f"sr: {reason}" for it in batch})

        written = run_pass2(cfg, batches, records, device, on_failure)
    converted = {it.key: list(records[it.key].conversions) for it in items if records[it.key].conversions}
    summary = {"inputs": len(items), "written": written, "skipped_existing": skipped,
               "failed": len(failed), "reasons": failed, "conversions": converted,
               "seconds": round(time.perf_counter() - start, 3)}
    outputs.write_report(cfg.out, summary)
    return summary
