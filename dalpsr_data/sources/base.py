"""What every source reader returns: a sorted list of image files under one root.

A reader only lists files (no decoding): listing 25,000 files must take seconds, and a
file that turns out to be unreadable is recorded later by the worker that opens it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from dalpsr_data.config_io import ConfigError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


class SourceLayoutError(ConfigError):
    """A source folder that is missing or does not follow the expected layout."""


@dataclass(frozen=True)
class SourceFile:
    """One listed image. ``rel_path`` uses '/' and is relative to ``root``; ``size`` in bytes."""

    source: str
    root: str
    rel_path: str
    size: int

    @property
    def path(self) -> Path:
        return Path(self.root) / self.rel_path


def list_images(root: Path, recursive: bool) -> list[str]:
    """Relative paths ('/'-separated) of image files under ``root``, sorted by code point.

    Hidden files and folders (starting with '.') are ignored: they are editor or OS litter.
    A symlink is listed by its own name (the worker follows it; a broken one or a loop is
    recorded there as ``broken_symlink``/``symlink_loop``); symlinked folders are not entered.
    """
    out: list[str] = []
    if recursive:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            rel_dir = Path(dirpath).relative_to(root)
            for name in filenames:
                if not name.startswith(".") and name.lower().endswith(IMAGE_SUFFIXES):
                    out.append((rel_dir / name).as_posix())
    else:
        for entry in os.scandir(root):
            # is_file() follows links: a broken link or a loop is not a file but still listed
            usable = entry.is_file() or (entry.is_symlink() and not entry.is_dir())
            if usable and not entry.name.startswith(".") \
                    and entry.name.lower().endswith(IMAGE_SUFFIXES):
                out.append(entry.name)
    return sorted(out)


def file_size(path: Path) -> int:
    """Size in bytes of what ``path`` leads to; -1 when it cannot be reached (a broken
    symlink, a symlink loop): such a file is planned and its worker records why it failed."""
    try:
        return path.stat().st_size
    except OSError:
        return -1


def to_source_files(source: str, root: Path, rel_paths: list[str]) -> list[SourceFile]:
    """Attach sizes (one stat per file) so the plan hash notices replaced files."""
    return [SourceFile(source, str(root), rp, file_size(root / rp)) for rp in rel_paths]


def first_existing(candidates: list[Path]) -> Path | None:
    for c in candidates:
        if c.is_dir():
            return c
    return None
