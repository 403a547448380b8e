"""`dalpsr-models check PATH [--kind]`: will this model load, before a long job does it?

``check_path`` guesses the kind from the files when not given (``model_index.json``: an SD
folder; ``config.json`` of a llava model: LLaVA; a ``.pth`` / ``.safetensors`` file or a
folder holding ``ram_*.pth``: RAM; a tiny kit's root: its three models) and returns one
:class:`Report` per model: the files with their sizes and sha256, what was found, and one
line per problem naming the file and what to do. Nothing is unpickled: ``.pth`` files are
read with ``torch.load(weights_only=True)``, safetensors files by their header.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dalpsr_data.atomic import file_sha256

KINDS = ("sd21", "llava", "ram")


@dataclass
class Report:
    """What one model check found: ``files`` are (path, bytes, sha256) rows."""

    kind: str
    path: Path
    files: list[tuple[Path, int, str]] = field(default_factory=list)
    found: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def add_file(self, path: Path) -> None:
        self.files.append((path, path.stat().st_size, file_sha256(path)))

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


def guess_kind(path: Path) -> str | None:
    if path.is_file():
        return "ram" if path.suffix in (".pth", ".safetensors", ".pt") else None
    if (path / "model_index.json").is_file() or (path / "unet").is_dir():
        return "sd21"
    if (path / "config.json").is_file():
        return "llava"
    if any(path.glob("ram*.pth")) or any(path.glob("ram*.safetensors")):
        return "ram"
    return None


def check_one(path: Path, kind: str) -> Report:
    from dalpsr_model.models.check_llava import check_llava
    from dalpsr_model.models.check_ram import check_ram
    from dalpsr_model.models.check_sd import check_sd21

    return {"sd21": check_sd21, "llava": check_llava, "ram": check_ram}[kind](path)


def check_path(path: str | Path, kind: str | None = None) -> list[Report]:
    """Reports of the model at ``path`` (or of each model of a tiny kit's root)."""
    from dalpsr_model.models.kit import LLAVA_DIR, RAM_FILE, SD_DIR

    path = Path(path)
    if not path.exists():
        return [Report(kind or "?", path, problems=[f"{path}: not found; give the folder (SD, LLaVA) or "
                                                    f"the .pth (RAM) you downloaded"])]
    if kind is None and path.is_dir() and (path / SD_DIR).is_dir() and (path / LLAVA_DIR).is_dir():
        return [check_one(path / SD_DIR, "sd21"), check_one(path / LLAVA_DIR, "llava"),
                check_one(path / RAM_FILE, "ram")]
    kind = kind or guess_kind(path)
    if kind is None:
        return [Report("?", path, problems=[f"{path}: cannot tell the kind of model from its files; "
                                            f"pass --kind sd21, llava or ram"])]
    return [check_one(path, kind)]


def _human(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def format_report(reports: list[Report]) -> str:
    """Per model: a header line, what was found, a table of size + sha256 per file, OK/problem count."""
    lines = []
    for r in reports:
        lines.append(f"{r.kind}  {r.path}")
        lines.extend(f"  {f}" for f in r.found)
        for p, size, sha in r.files:
            rel = p.relative_to(r.path) if p != r.path and r.path in p.parents else p.name
            lines.append(f"  {_human(size):>10}  {sha}  {rel}")
        lines.append(f"  {'OK: it will load' if not r.problems else f'{len(r.problems)} problem(s)'}")
    return "\n".join(lines)
