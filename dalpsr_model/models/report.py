"""What one `dalpsr-models check` of a model found: its files (size, sha256), facts, problems."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dalpsr_data.hash_cache import files_sha256

# The kinds of model `check` knows; here (no torch) so that the CLI parses --kind at once.
KINDS = ("sd21", "llava", "ram")


@dataclass
class Report:
    """What one model check found: ``files`` it read (their table: :meth:`file_rows`)."""

    kind: str
    path: Path
    files: list[Path] = field(default_factory=list)
    found: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def add_file(self, path: Path) -> None:
        self.files.append(path)

    def file_rows(self) -> list[tuple[Path, int, str]]:
        """(path, bytes, sha256) per file, hashed in one call: the hash cache (path, size,
        mtime_ns; as dalpsr-sr's and dalpsr-eval's weight hashes) is read and written once."""
        hashes = files_sha256(self.files)
        return [(p, p.stat().st_size, hashes[p]) for p in self.files]

    def read_json(self, path: Path, what_to_do: str) -> dict[str, Any] | None:
        """The parsed file, or None with a problem line (missing or not JSON)."""
        if not path.is_file():
            self.problems.append(f"{path}: missing; {what_to_do}")
            return None
        self.add_file(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            self.problems.append(f"{path}: not valid JSON ({e}); {what_to_do}")
            return None
        if not isinstance(data, dict):
            self.problems.append(f"{path}: not a JSON object; {what_to_do}")
            return None
        return data


def check_safetensors(report: Report, path: Path, what_to_do: str) -> int:
    """Tensor count of a safetensors file read by its header (no tensor data, no pickle); 0 on a problem."""
    from safetensors import safe_open

    report.add_file(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            return len(list(f.keys()))
    except Exception as e:  # safetensors raises its own error types for a bad header
        report.problems.append(f"{path}: unreadable safetensors file ({str(e).splitlines()[0]}); {what_to_do}")
        return 0
