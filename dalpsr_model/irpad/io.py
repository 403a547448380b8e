"""Save / load a trained IRPAD: ``irpad.safetensors`` + ``irpad.json`` (architecture, prompts)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file

from dalpsr_data.atomic import write_json_atomic, write_safetensors_atomic
from dalpsr_data.config_io import from_dict
from dalpsr_model.irpad.model import Irpad, IrpadArch
from dalpsr_model.irpad.prompts import degradation_prompts

WEIGHTS, META = "irpad.safetensors", "irpad.json"
FORMAT = "dalpsr-irpad-v1"


def save_irpad(model: Irpad, out: str | Path, extra: dict[str, Any] | None = None) -> Path:
    """Write weights (temp name + rename) then the json; returns the weights path."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_safetensors_atomic(out / WEIGHTS, {k: v.detach().cpu().contiguous().clone()
                                             for k, v in model.state_dict().items()})
    write_irpad_meta(model, out, extra)
    return out / WEIGHTS


def write_irpad_meta(model: Irpad, out: str | Path, extra: dict[str, Any] | None = None) -> None:
    """irpad.json alone (format, arch, prompts, ``extra``): e.g. the evaluation, once done."""
    write_json_atomic(Path(out) / META, {"format": FORMAT, "arch": dataclasses.asdict(model.arch),
                                         "prompts": degradation_prompts(), **(extra or {})})


def _folder(path: str | Path) -> Path:
    path = Path(path)
    return path if path.is_dir() else path.parent


def read_irpad_meta(path: str | Path) -> dict[str, Any]:
    """irpad.json of a folder (or of the folder of a .safetensors path), format-checked."""
    folder = _folder(path)
    meta = json.loads((folder / META).read_text(encoding="utf-8"))
    if meta.get("format") != FORMAT:
        raise ValueError(f"{folder / META}: not an IRPAD checkpoint (format {meta.get('format')!r})")
    return meta


def load_irpad(path: str | Path, device: str | torch.device = "cpu",
               meta: dict[str, Any] | None = None) -> Irpad:
    """From a folder holding irpad.safetensors + irpad.json (or the .safetensors path);
    ``meta``: its irpad.json when the caller has already read it."""
    folder = _folder(path)
    meta = meta if meta is not None else read_irpad_meta(folder)
    model = Irpad(from_dict(IrpadArch, meta["arch"]))
    model.load_state_dict(load_file(str(folder / WEIGHTS)), strict=True)
    return model.to(device).eval()
