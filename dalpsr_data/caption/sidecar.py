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
    batch_size, tag_batch_size   int   images in the LLaVA / RAM call of this row (0: none)

It is written to a temporary name, fsynced and renamed; ``captions/shard-000000.done.json``
(the shard stats) is written after it, so a sidecar without a marker is never read.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from dalpsr_data import schema
from dalpsr_data.atomic import atomic_open
from dalpsr_data.buildinfo import BuildInfo


@dataclass(frozen=True)
class CaptionRecord:
    """One sidecar row (fields: module docstring). ``batch_size`` / ``tag_batch_size``: with
    bf16 + SDPA on a GPU the batch can change greedy tokens, so a row says which one it came from."""

    key: str
    image: str                       # "lr" or "hr"
    status: str = "ok"
    reason: str = ""
    tags: tuple[str, ...] = ()
    tag_probs: tuple[float, ...] = ()
    instruction: str = ""
    caption: str = ""
    batch_size: int = 0
    tag_batch_size: int = 0

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def failed(self, reason: str) -> "CaptionRecord":
        return dataclasses.replace(self, status="error", reason=reason)

    def to_json(self) -> str:
        """One line (no newline): sorted keys, lists for tuples, UTF-8 text as is."""
        return json.dumps(dataclasses.asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, line: str) -> "CaptionRecord":
        """The record of one sidecar line; ValueError when it is not one."""
        data: Any = json.loads(line)
        names = {f.name for f in dataclasses.fields(cls)}
        if not isinstance(data, dict) or not {"key", "image"} <= set(data) or set(data) - names:
            raise ValueError(f"not a caption sidecar row: {line[:120]!r}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


def write_records(root: str | Path, tar_name: str, records: list[CaptionRecord]) -> Path:
    """Write one shard's records (sorted by key) atomically; returns the jsonl path.

    The marker (``schema.caption_marker_path``) is written after it by the job runner (dalpsr_data.jobs).
    """
    path = schema.caption_sidecar_path(root, tar_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, "w") as f:
        for rec in sorted(records, key=lambda r: r.key):
            f.write(rec.to_json() + "\n")
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
