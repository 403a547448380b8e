"""report.json and index.json from the committed shards' markers.

Counts add up by construction: every listed file is either built (at least one patch
committed) or skipped (with the reason of its first skipped patch), and every planned
patch is either built, listed with a reason, or counted as ``not_distinct`` (its photo
had no further distinct crop position: by design, not a problem of the file).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dalpsr_data import schema
from dalpsr_data.atomic import write_json_atomic
from dalpsr_data.build.plan import BuildPlan


def read_marker(out_dir: Path, shard_name: str) -> dict[str, Any] | None:
    """The commit marker of a shard, or None when absent or unreadable (then: not committed)."""
    path = schema.marker_path(out_dir / shard_name)
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def is_committed(out_dir: Path, shard_name: str, marker: dict[str, Any] | None, plan_hash: str) -> bool:
    """``marker`` (the shard's, already read; None when absent) is of this plan, and the tar
    has the recorded size."""
    tar = out_dir / shard_name
    return (marker is not None and marker.get("plan_hash") == plan_hash and tar.is_file()
            and tar.stat().st_size == marker.get("bytes"))


def make_report(plan: BuildPlan, markers: list[dict[str, Any]], wall_seconds: float,
                patches_this_run: int) -> dict[str, Any]:
    """Aggregate markers (sorted by shard) into the report.json content."""
    bins = {t: [0] * schema.NUM_BINS for t in schema.DEGRADATION_TYPES}
    built_keys_per_file: dict[tuple[str, str], int] = {}
    skipped_patches: list[dict[str, str]] = []
    per_source: dict[str, dict[str, int]] = {}
    for f in plan.files:
        per_source.setdefault(f.source, {"files_listed": 0, "files_built": 0, "files_skipped": 0,
                                         "files_padded": 0, "patches_built": 0, "patches_skipped": 0,
                                         "patches_not_distinct": 0})
        per_source[f.source]["files_listed"] += 1
    key_to_file = {p.key: (p.source, p.rel_path) for s in plan.shards for p in s.patches}
    worker_seconds = 0.0
    padded_files: set[tuple[str, str]] = set()
    not_distinct = 0
    for m in sorted(markers, key=lambda m: m["shard"]):
        worker_seconds += float(m.get("worker_seconds", 0.0))
        padded_files.update(key_to_file[k] for k in m.get("padded_keys", []))
        for key in m.get("not_distinct", []):
            not_distinct += 1
            per_source[key_to_file[key][0]]["patches_not_distinct"] += 1
        for t in schema.DEGRADATION_TYPES:
            bins[t] = [a + b for a, b in zip(bins[t], m["bins"][t])]
        for key in m["keys"]:
            ident = key_to_file[key]
            built_keys_per_file[ident] = built_keys_per_file.get(ident, 0) + 1
            per_source[ident[0]]["patches_built"] += 1
        for s in m["skipped"]:
            skipped_patches.append(s)
            per_source[s["source"]]["patches_skipped"] += 1
    skipped_files: dict[tuple[str, str], dict[str, str]] = {}
    for s in skipped_patches:
        ident = (s["source"], s["path"])
        if ident not in built_keys_per_file and ident not in skipped_files:
            skipped_files[ident] = {"source": s["source"], "path": s["path"], "reason": s["reason"],
                                    "detail": s["detail"]}
    reasons: dict[str, int] = {}
    for s in skipped_files.values():
        reasons[s["reason"]] = reasons.get(s["reason"], 0) + 1
        per_source[s["source"]]["files_skipped"] += 1
    for ident in built_keys_per_file:
        per_source[ident[0]]["files_built"] += 1
    for ident in padded_files:
        per_source[ident[0]]["files_padded"] += 1
    n_built = sum(len(m["keys"]) for m in markers)
    return {
        "plan_hash": plan.plan_hash,
        "files": {"listed": len(plan.files), "built": len(built_keys_per_file),
                  "skipped": len(skipped_files), "padded": len(padded_files)},
        "patches": {"planned": plan.num_patches, "built": n_built, "skipped": len(skipped_patches),
                    "not_distinct": not_distinct,
                    "padded": sum(int(m.get("padded", 0)) for m in markers)},
        "per_source": per_source,
        "bins": bins,
        "skip_reasons": dict(sorted(reasons.items())),
        "skipped_files": sorted(skipped_files.values(), key=lambda s: (s["source"], s["path"])),
        "skipped_patches": sorted(skipped_patches, key=lambda s: s["key"]),
        "shards": len(markers),
        "wall_seconds": round(wall_seconds, 3),
        "patches_this_run": patches_this_run,
        "patches_per_second": round(patches_this_run / wall_seconds, 3) if wall_seconds > 0 else 0.0,
        "worker_seconds": round(worker_seconds, 3),
        "worker_seconds_per_patch": round(worker_seconds / n_built, 5) if n_built else 0.0,
    }


def write_index(out_dir: Path, plan: BuildPlan, markers: list[dict[str, Any]]) -> dict[str, Any]:
    """index.json in the wids format; shards that hold no sample are left out of the list."""
    shardlist = [{"url": m["shard"], "nsamples": int(m["nsamples"])}
                 for m in sorted(markers, key=lambda m: m["shard"]) if m["nsamples"] > 0]
    index = {"__kind__": "wids-shard-index-v1", "wids_version": 1,
             "shardlist": shardlist, "num_samples": sum(s["nsamples"] for s in shardlist),
             "plan_hash": plan.plan_hash,
             "members": list(schema.SAMPLE_MEMBERS)}
    write_json_atomic(out_dir / schema.INDEX_JSON, index)
    return index
