"""The output folder: usable before any work, cleared by --overwrite, refused when changed.

Only the build's own files are ever deleted (shards, markers, build/index/report json,
caption sidecars of those shards, ``.tmp-`` leftovers); anything else in the folder stays.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from dalpsr_data import schema
from dalpsr_data.atomic import TMP_PREFIX
from dalpsr_data.config_io import ConfigError

OWN_PATTERNS = ("shard-*.tar", "shard-*.done.json", f"{TMP_PREFIX}*", schema.BUILD_JSON,
                schema.INDEX_JSON, schema.REPORT_JSON, "preview.png")


def _probe_writable(out: Path) -> None:
    """Fail fast with a clear message when the folder cannot take a file (read-only, full)."""
    probe = out / f"{TMP_PREFIX}probe.{os.getpid()}"
    try:
        with open(probe, "wb") as f:
            f.write(b"\0" * 4096)
            f.flush()
            os.fsync(f.fileno())
    except OSError as e:
        raise ConfigError(f"output folder {out} is not writable ({e.strerror or e}): "
                          f"choose another --out or free space/permissions") from None
    finally:
        try:
            probe.unlink()
        except OSError:
            pass


def prepare_out_dir(out: Path, overwrite: bool) -> Path:
    """Create ``out`` (and parents); with ``overwrite`` delete the previous build's files."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} exists and is not a folder: give a folder path")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"cannot create output folder {out} ({e.strerror or e})") from None
    _probe_writable(out)
    if overwrite:
        for pattern in OWN_PATTERNS:
            for p in out.glob(pattern):
                if p.is_file():
                    p.unlink()
        captions = out / schema.CAPTIONS_DIR
        if captions.is_dir():
            for p in captions.glob("shard-*"):
                if p.is_file():
                    p.unlink()
    return out.resolve()


def _diff(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted names of the fields that differ between two JSON-like configs."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for k in sorted(set(old) | set(new)):
            out += _diff(old.get(k), new.get(k), f"{prefix}{k}.")
        return out
    return [] if old == new else [prefix.rstrip(".")]


def check_build_json(out: Path, plan_hash: str, output_config: dict[str, Any]) -> None:
    """Refuse to mix two different builds in one folder; say what changed and what to do."""
    path = out / schema.BUILD_JSON
    if not path.is_file():
        stray = sorted(p.name for p in out.glob("shard-*.tar"))
        if stray:
            raise ConfigError(f"{out} holds shards ({stray[0]}, ...) but no {schema.BUILD_JSON}: "
                              f"use --overwrite to rebuild there, or another --out")
        return
    try:
        with open(path, encoding="utf-8") as f:
            old = json.load(f)
    except (OSError, ValueError) as e:
        raise ConfigError(f"{path} is unreadable ({e}): use --overwrite or another --out") from None
    if old.get("plan_hash") == plan_hash:
        return
    changed = _diff(old.get("output_config", {}), output_config)
    what = (f"configuration fields changed: {', '.join(changed[:8])}" if changed
            else "the source files changed (names, sizes or count)")
    raise ConfigError(f"{out} holds a different build ({what}). Use --overwrite to replace it, "
                      f"or choose another --out")
