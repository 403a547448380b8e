"""The output folder: usable before any work, cleared by --overwrite, refused when changed.

Only the build's own files are ever deleted (shards, markers, build/index/report json,
caption sidecars of those shards, ``.tmp-`` leftovers); anything else in the folder stays.
A non-empty folder that is not a build is refused (even with --overwrite): its files are
the user's, and index.json/report.json there may be theirs too. So is an --out inside a
source folder, or a source inside --out: outputs and photos must not mix.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from dalpsr_data import schema
from dalpsr_data.atomic import TMP_PREFIX, remove_orphan_temporaries
from dalpsr_data.config_io import ConfigError

_SHARD_FILE = re.compile(r"^shard-\d{6}(\.tar|\.done\.json)$")
_CAPTION_FILE = re.compile(r"^shard-\d{6}(\.jsonl|\.done\.json)$")
CAPTION_JSON = "caption.json"  # dalpsr_data.caption.run writes it (and report.json) beside the sidecars
_BUILD_JSONS = (schema.BUILD_JSON, schema.INDEX_JSON, schema.REPORT_JSON)


def _json_has(path: Path, *fields: str) -> bool:
    """True when ``path`` is a JSON object holding ``fields`` (what our own files hold)."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and all(k in data for k in fields)


def is_build_folder(out: Path) -> bool:
    """A folder holding a build.json that this project wrote (plan hash + output config)."""
    return _json_has(out / schema.BUILD_JSON, "plan_hash", "output_config")


def own_caption_files(captions: Path) -> list[Path]:
    """What a caption run writes in ``captions``: sidecars, markers, caption.json, report.json
    and temporaries (regular files only, sorted)."""
    return sorted(p for p in captions.iterdir() if p.is_file() and not p.is_symlink() and (
        _CAPTION_FILE.match(p.name) or p.name in (CAPTION_JSON, schema.REPORT_JSON)
        or p.name.startswith(TMP_PREFIX)))


def _own_files(out: Path) -> list[Path]:
    """Files in ``out`` that a build (or caption) writes, recognised by name and content."""
    own = []
    for p in out.iterdir():
        if not p.is_file() or p.is_symlink():
            continue
        if _SHARD_FILE.match(p.name) or p.name.startswith(TMP_PREFIX):
            own.append(p)
        elif p.name in _BUILD_JSONS and _json_has(p, "plan_hash"):
            own.append(p)
    captions = out / schema.CAPTIONS_DIR
    if captions.is_dir() and not captions.is_symlink():
        own += own_caption_files(captions)
    return own


def foreign_entries(out: Path) -> list[str]:
    """Names in ``out`` that no build writes (hidden OS litter such as .DS_Store aside)."""
    own = {p.name for p in _own_files(out)}
    names = []
    for p in sorted(out.iterdir()):
        if p.name in own or p.name.startswith("."):
            continue
        if p.name == schema.CAPTIONS_DIR and p.is_dir() and not p.is_symlink():
            ours = {q.name for q in own_caption_files(p)}
            names += [f"{p.name}/{q.name}" for q in sorted(p.iterdir()) if q.name not in ours]
            continue
        names.append(p.name + ("/" if p.is_dir() else ""))
    return names


def check_not_nested(out: Path, source_roots: dict[str, str]) -> None:
    """Refuse an --out inside a source folder, or a source folder inside --out."""
    o = out.expanduser().resolve()
    for label, root in sorted(source_roots.items()):
        if not root:
            continue
        r = Path(root).resolve()
        if o.is_relative_to(r):
            raise ConfigError(f"--out {out} is inside the folder of source {label!r} ({r}): "
                              f"outputs and photos would mix; choose an --out outside it")
        if r.is_relative_to(o):
            raise ConfigError(f"source {label!r} ({r}) is inside --out {out}: choose an --out "
                              f"that does not hold the photos")


def _probe_writable(out: Path) -> None:
    """Fail fast with a clear message when the folder cannot take a file (read-only, full)."""
    probe = out / f"{TMP_PREFIX}probe.{os.getpid()}"
    try:
        with open(probe, "wb") as f:
            f.write(b"\0" * 4096)
            f.flush()
            os.fsync(f.fileno())
    except OSError as e:
        remove_orphan_temporaries(out)  # a full disk: the partial files of a failed run go
        raise ConfigError(f"output folder {out} is not writable ({e.strerror or e}): "
                          f"choose another --out or free space/permissions") from None
    finally:
        try:
            probe.unlink()
        except OSError:
            pass


def prepare_out_dir(out: Path, overwrite: bool, source_roots: dict[str, str] | None = None) -> Path:
    """Create ``out`` (and parents); with ``overwrite`` delete the previous build's files.

    Refuses (ConfigError, nothing touched) a file path, a non-empty folder that is not a
    build, and an --out nested with a source folder (``source_roots``: label -> folder).
    """
    check_not_nested(out, source_roots or {})
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} exists and is not a folder: give a folder path")
    if out.is_dir() and not is_build_folder(out):
        foreign = foreign_entries(out)
        if foreign:
            shown = ", ".join(foreign[:4]) + (", ..." if len(foreign) > 4 else "")
            raise ConfigError(f"--out {out} is not a build folder (no {schema.BUILD_JSON}) and holds "
                              f"{len(foreign)} other file(s): {shown}; choose a new or empty "
                              f"--out (--overwrite only replaces a previous build)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"cannot create output folder {out} ({e.strerror or e})") from None
    _probe_writable(out)
    if overwrite:
        for p in _own_files(out):
            p.unlink()
        captions = out / schema.CAPTIONS_DIR
        if captions.is_dir() and not captions.is_symlink() and not any(captions.iterdir()):
            captions.rmdir()
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
