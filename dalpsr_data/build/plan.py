"""The build plan: every patch's key and shard, fixed on the driver before any work.

Sources are taken in sorted label order, files in sorted relative-path order, and the
patches sorted by key, so the same command on the same inputs always yields the same plan
(whatever order ``--sources`` lists them in). The plan hash covers the output-defining
configuration and every (key, source, relative path, file size, patch index).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from dalpsr_data import schema
from dalpsr_data.config_io import config_hash
from dalpsr_data.record import PatchSpec
from dalpsr_data.sources import SourceFile, list_source, parse_sources

_BAD_KEY_CHARS = re.compile(r"[^A-Za-z0-9_-]+")
MAX_STEM = 120


@dataclass(frozen=True)
class ShardPlan:
    """Shard ``index`` holds ``patches`` (sorted by key); ``name`` is schema.shard_name(index)."""

    index: int
    name: str
    patches: tuple[PatchSpec, ...]


@dataclass(frozen=True)
class BuildPlan:
    shards: tuple[ShardPlan, ...]
    files: tuple[SourceFile, ...]
    plan_hash: str
    output_config: dict[str, Any] = field(hash=False)
    roots: dict[str, str] = field(hash=False)

    @property
    def num_patches(self) -> int:
        return sum(len(s.patches) for s in self.shards)


def key_stem(rel_path: str) -> str:
    """``animal/animal_0001.png`` -> ``animal-animal_0001``: no dots, only [A-Za-z0-9_-]."""
    stem = rel_path.rsplit(".", 1)[0] if "." in rel_path.rsplit("/", 1)[-1] else rel_path
    stem = _BAD_KEY_CHARS.sub("_", stem.replace("/", "-")).strip("_") or "x"
    if len(stem) > MAX_STEM:
        stem = stem[:MAX_STEM] + "-" + hashlib.sha1(rel_path.encode()).hexdigest()[:8]
    return stem


def patch_key(prefix: str, index: int) -> str:
    """Key of patch ``index`` of the file whose key prefix is ``prefix``."""
    return f"{prefix}_p{index:02d}"


def sibling_key(spec: PatchSpec, index: int) -> str:
    """Key of patch ``index`` of the same file as ``spec`` (a worker recomputes their crops)."""
    return patch_key(spec.key.removesuffix(f"_p{spec.patch_index:02d}"), index)


def file_keys(label: str, files: list[SourceFile]) -> list[str]:
    """One unique key prefix per file; a collision (a.png, a.jpg) gets a path-hash suffix."""
    prefixes = [f"{label}_{key_stem(f.rel_path)}" for f in files]
    seen: dict[str, int] = {}
    for p in prefixes:
        seen[p] = seen.get(p, 0) + 1
    out = []
    for p, f in zip(prefixes, files):
        if seen[p] > 1:
            p = f"{p}-{hashlib.sha1(f.rel_path.encode()).hexdigest()[:8]}"
        out.append(p)
    return out


def make_plan(sources: tuple[str, ...], data_root: str, limit: int | None, per_image: int,
              shard_size: int, output_config: dict[str, Any]) -> BuildPlan:
    """List the sources and cut the sorted patches into shards of ``shard_size``.

    Raises SourceLayoutError (naming the expected layout) when a source folder is wrong.
    """
    specs = sorted(parse_sources(sources), key=lambda s: s.label)
    patches: list[PatchSpec] = []
    all_files: list[SourceFile] = []
    roots: dict[str, str] = {}
    for spec in specs:
        files = list_source(spec, data_root)
        if limit is not None:
            files = files[:limit]
        files = [SourceFile(spec.label, f.root, f.rel_path, f.size) for f in files]
        all_files.extend(files)
        roots[spec.label] = files[0].root if files else ""
        for prefix, f in zip(file_keys(spec.label, files), files):
            for j in range(per_image):
                key = patch_key(prefix, j)
                if not schema.KEY_PATTERN.match(key):
                    raise ValueError(f"internal error: key {key!r} does not match the schema")
                patches.append(PatchSpec(key, spec.label, f.root, f.rel_path, f.size, j))
    patches.sort(key=lambda p: p.key)
    shards = tuple(
        ShardPlan(i, schema.shard_name(i), tuple(patches[s:s + shard_size]))
        for i, s in enumerate(range(0, len(patches), shard_size)))
    plan_hash = config_hash({"output_config": output_config,
                             "patches": [p.plan_entry() for p in patches]})
    return BuildPlan(shards=shards, files=tuple(all_files), plan_hash=plan_hash,
                     output_config=output_config, roots=roots)
