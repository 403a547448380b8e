"""Caption sidecars: the record type, the committing writer, and the join with build shards.

``captions/shard-000000.jsonl`` holds one JSON object per sample of the build shard,
sorted by key, with type-stable fields::

    key          str    the build sample key
    status       str    "ok" or "error"
    reason       str    "" when ok, else "<stage>: <ExceptionType>: <message>"
    image        str    "lr" or "hr": which image was captioned
    tags         list[str]    RAM tags above their thresholds, tag-list order ([] without RAM)
    tag_probs    list[float]  their sigmoid probabilities, rounded to 4 decimals
    instruction  str    the LLaVA instruction ("" when the sample failed before it)
    caption      str    cleaned LLaVA answer ("" on error)

It is written to a temporary name, fsynced and renamed; ``captions/shard-000000.done.json``
(the shard stats) is written after it, so a sidecar without a marker is never read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

from dalpsr_data import schema
from dalpsr_data.atomic import atomic_open
from dalpsr_data.buildinfo import BuildInfo


def empty_record(key: str, image: str) -> dict[str, Any]:
    """One sidecar row. ``batch_size`` / ``tag_batch_size``: images in the LLaVA / RAM call
    that produced this row's caption / tags (0: no such call); with bf16 + SDPA on a GPU the
    batch can change greedy tokens, so a row says which one it came from."""
    return {"key": key, "status": "ok", "reason": "", "image": image, "tags": [], "tag_probs": [],
            "instruction": "", "caption": "", "batch_size": 0, "tag_batch_size": 0}


def write_records(root: str | Path, tar_name: str, records: list[dict[str, Any]]) -> Path:
    """Write one shard's records (sorted by key) atomically; returns the jsonl path.

    The marker (``schema.caption_marker_path``) is written after it by the job runner (dalpsr_data.jobs).
    """
    path = schema.caption_sidecar_path(root, tar_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, "w") as f:
        for rec in sorted(records, key=lambda r: r["key"]):
            f.write(json.dumps(rec, ensure_ascii=False, sort_keys=True) + "\n")
    return path


def iter_captioned_samples(build: BuildInfo | str | Path, require_all: bool = True
                           ) -> Iterator[tuple[str, dict[str, bytes], dict[str, Any]]]:
    """Join build and caption shards by key: yields (key, build members, caption record).

    The join is ``BuildInfo.iter_samples`` (one definition for the loader's validation set,
    the latent cache and caption consumers). Build members are the raw bytes of
    ``schema.iter_tar_samples``. With ``require_all`` an uncaptioned shard or a sample
    without a record is an error that says what to run; otherwise such samples are skipped.
    """
    mode = "required" if require_all else "captioned_only"
    return BuildInfo.of(build).iter_samples(captions=mode)
