"""Atomic training checkpoints.

Layout of ``OUT/checkpoints/checkpoint-00000100/`` (100 = optimizer step)::

    model-<name>.safetensors   weights of each trained module (safetensors, never pickled)
    state.pt                   optimizer, scheduler, loader position, counters
                               (plain tensors/ints/lists: read with torch.load(weights_only=True))
    rng-rank<R>.pt             torch (and CUDA) RNG state of process R
    config.json                the resolved stage config
    meta.json                  step, samples, time; written last

The folder is assembled under ``.tmp-checkpoint-00000100`` and renamed into place, so a
killed run never leaves a half checkpoint that ``--resume latest`` could pick.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path
from typing import Any, Callable

import torch
from safetensors.torch import load_file, save_file

from dalpsr_data.atomic import TMP_PREFIX, commit_dir, fresh_temporary_dir, write_json_atomic
from dalpsr_data.config_io import ConfigError

CKPT_PATTERN = re.compile(r"^checkpoint-(\d{8})$")


def checkpoint_name(step: int) -> str:
    return f"checkpoint-{step:08d}"


def _rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _save_weights(module: torch.nn.Module, path: Path) -> None:
    # clone() breaks storage sharing (tied weights), which safetensors refuses to save.
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in module.state_dict().items()}
    save_file(tensors, str(path))


def save_checkpoint(root: str | Path, step: int, *, models: dict[str, torch.nn.Module],
                    state: dict[str, Any], config: dict[str, Any], rank: int = 0,
                    is_main: bool = True, barrier: Callable[[], None] = lambda: None) -> Path:
    """Write checkpoint ``step`` under ``root`` atomically; every process calls this.

    ``state`` holds optimizer/scheduler state dicts, loader position and counters (main
    process only writes it); each process writes its own RNG state.
    """
    root = Path(root)
    final = root / checkpoint_name(step)
    tmp = root / f"{TMP_PREFIX}{checkpoint_name(step)}"
    if is_main:
        fresh_temporary_dir(final)  # == tmp; a stale one left by a run killed while saving goes
    barrier()
    torch.save(_rng_state(), tmp / f"rng-rank{rank}.pt")
    barrier()
    if is_main:
        for name, module in models.items():
            _save_weights(module, tmp / f"model-{name}.safetensors")
        torch.save(state, tmp / "state.pt")
        write_json_atomic(tmp / "config.json", config)
        write_json_atomic(tmp / "meta.json", {"step": step, "time": time.time(),
                                              "models": sorted(models)})
        # Replaces an existing folder of the same step (a final save right after a periodic one).
        commit_dir(tmp, final)
    barrier()
    return final


def list_checkpoints(root: str | Path) -> list[tuple[int, Path]]:
    """Complete checkpoints under ``root`` as (step, path), oldest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = []
    for p in root.iterdir():
        m = CKPT_PATTERN.match(p.name)
        if m and (p / "meta.json").is_file():
            found.append((int(m.group(1)), p))
    return sorted(found)


def find_latest_checkpoint(root: str | Path) -> Path | None:
    ckpts = list_checkpoints(root)
    return ckpts[-1][1] if ckpts else None


def resolve_resume(resume: str, root: str | Path) -> Path | None:
    """``""`` -> None; ``latest`` -> newest checkpoint (None when there is none yet);
    a path -> that checkpoint (must exist)."""
    if not resume:
        return None
    if resume == "latest":
        return find_latest_checkpoint(root)
    path = Path(resume)
    if not (path / "meta.json").is_file():
        raise ConfigError(f"--resume {resume}: not a checkpoint folder (no meta.json); "
                          f"use 'latest' or a folder like {Path(root) / checkpoint_name(100)}")
    return path


def load_checkpoint(path: str | Path, *, models: dict[str, torch.nn.Module], rank: int = 0,
                    map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load weights into ``models`` (strict), restore this process's RNG, return the state dict
    (with ``config`` and ``meta`` added)."""
    path = Path(path)
    for name, module in models.items():
        weights = load_file(str(path / f"model-{name}.safetensors"), device="cpu")
        module.load_state_dict(weights, strict=True)
    state = torch.load(path / "state.pt", map_location=map_location, weights_only=True)
    rng_file = path / f"rng-rank{rank}.pt"
    if rng_file.is_file():
        _set_rng_state(torch.load(rng_file, map_location="cpu", weights_only=True))
    state["config"] = json.loads((path / "config.json").read_text(encoding="utf-8"))
    state["meta"] = json.loads((path / "meta.json").read_text(encoding="utf-8"))
    return state


class CheckpointManager:
    """Saves checkpoints under ``root`` and keeps at most ``keep`` of them."""

    def __init__(self, root: str | Path, keep: int) -> None:
        self.root = Path(root)
        self.keep = keep

    def save(self, step: int, **kwargs: Any) -> Path:
        path = save_checkpoint(self.root, step, **kwargs)
        if kwargs.get("is_main", True):
            self.prune(protect=path)
        return path

    def prune(self, protect: Path | None = None) -> list[Path]:
        """Delete the oldest checkpoints beyond ``keep``; never the one just written."""
        ckpts = [p for _, p in list_checkpoints(self.root)]
        removed = []
        for p in ckpts[: max(0, len(ckpts) - self.keep)]:
            if protect is not None and p == protect:
                continue
            shutil.rmtree(p)
            removed.append(p)
        return removed
