"""`dalpsr-models check PATH [--kind]`: will this model load, before a long job does it?

``check_path`` guesses the kind from the files when not given (``model_index.json``: an SD
folder; ``config.json`` of a llava model: LLaVA; a ``.pth`` / ``.safetensors`` file or a
folder holding ``ram_*.pth``: RAM; a tiny kit's root: its three models) and returns one
:class:`Report` per model: the files with their sizes and sha256, what was found, and one
line per problem naming the file and what to do. Nothing is unpickled: ``.pth`` files are
read with ``torch.load(weights_only=True)``, safetensors files by their header.
"""

from __future__ import annotations

from pathlib import Path

from dalpsr_model.models.check_llava import check_llava
from dalpsr_model.models.check_ram import check_ram
from dalpsr_model.models.check_sd import check_sd21
from dalpsr_model.models.kit import LLAVA_DIR, RAM_FILE, SD_DIR
from dalpsr_model.models.report import Report


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
    return {"sd21": check_sd21, "llava": check_llava, "ram": check_ram}[kind](path)


def check_path(path: str | Path, kind: str | None = None) -> list[Report]:
    """Reports of the model at ``path`` (or of each model of a tiny kit's root)."""
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
        for p, size, sha in r.file_rows():
            rel = p.relative_to(r.path) if p != r.path and r.path in p.parents else p.name
            lines.append(f"  {_human(size):>10}  {sha}  {rel}")
        lines.append(f"  {'OK: it will load' if not r.problems else f'{len(r.problems)} problem(s)'}")
    return "\n".join(lines)
