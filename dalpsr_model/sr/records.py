"""``OUT/prompts.jsonl``: pass 1's record of each input, typed, with its one JSON form.

One line per image, keys sorted (the bytes of a line are a pure function of the record)::

    key, status ("ok" | "error"), reason, size [w, h], conversions (decode's list),
    restoration, caption, tags, instruction

Commit protocol: records are appended a batch at a time and fsynced; a line is committed
once its newline is on disk. A killed run leaves at most a partial last line, which the
next run cuts off before it appends; keys already recorded are not redone (resume).
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

PROMPTS_JSONL = "prompts.jsonl"


@dataclass(frozen=True)
class PromptRecord:
    """What pass 2 needs to super-resolve one input, or why it cannot (``status`` "error")."""

    key: str
    status: str = "ok"
    reason: str = ""
    size: tuple[int, int] = (0, 0)        # LR (width, height) as decoded
    conversions: tuple[str, ...] = ()     # decode's conversions (e.g. "cmyk->rgb")
    restoration: str = ""                 # IRPAD's (or --restoration-prompt) prompt
    caption: str = ""
    tags: tuple[str, ...] = ()            # RAM tags the caption came from
    instruction: str = ""                 # the LLaVA instruction

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_json(self) -> str:
        """One line (no newline): sorted keys, lists for tuples, UTF-8 text as is."""
        return json.dumps(dataclasses.asdict(self), sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_json(cls, line: str) -> "PromptRecord":
        """The record of one line; ValueError when it is not one (unknown or missing key)."""
        data: dict[str, Any] = json.loads(line)
        names = {f.name for f in dataclasses.fields(cls)}
        if not isinstance(data, dict) or "key" not in data or set(data) - names:
            raise ValueError(f"not a prompts.jsonl record: {line[:120]!r}")
        for name in ("size", "conversions", "tags"):
            if name in data:
                data[name] = tuple(data[name])
        return cls(**data)


def read_records(out: str | Path) -> dict[str, PromptRecord]:
    """Committed records of ``OUT/prompts.jsonl`` by key; cuts off a partial last line."""
    path = Path(out) / PROMPTS_JSONL
    if not path.is_file():
        return {}
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    if end < len(data):  # a killed writer's partial line: never committed
        with open(path, "r+b") as f:
            f.truncate(end)
    records = {}
    for line in data[:end].decode("utf-8").splitlines():
        if line.strip():
            rec = PromptRecord.from_json(line)
            records[rec.key] = rec
    return records


def append_records(out: str | Path, records: Iterable[PromptRecord]) -> None:
    """Append records (one line each) and fsync: the commit of this batch."""
    text = "".join(r.to_json() + "\n" for r in records)
    with open(Path(out) / PROMPTS_JSONL, "a", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
