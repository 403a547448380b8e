"""sha256 of weight files, remembered by (path, size, mtime_ns) between runs.

`dalpsr-sr` and `dalpsr-eval` record the sha256 of every weight file they read; for SD 2.1
and LLaVA-7B that is ~20 GB, tens of seconds before the first image of every run. The hashes
are kept in ``weight-sha256.json`` in the user cache folder (``$DALPSR_CACHE_DIR``, else
``$XDG_CACHE_HOME/dalpsr``, else ``~/.cache/dalpsr``), keyed by the resolved path; an entry
is used only while the file's size and mtime_ns are those it was hashed at, so a file that
was replaced or rewritten is hashed again. The cache is an optimisation: a folder that cannot
be written, or a damaged cache file, only means hashing again.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterable

from dalpsr_data.atomic import file_sha256, write_json_atomic

ENV_CACHE_DIR = "DALPSR_CACHE_DIR"
CACHE_NAME = "weight-sha256.json"


def cache_path() -> Path:
    """Where the hashes are kept (see the module docstring)."""
    if os.environ.get(ENV_CACHE_DIR):
        return Path(os.environ[ENV_CACHE_DIR]) / CACHE_NAME
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "dalpsr" / CACHE_NAME


def _read(path: Path) -> dict[str, dict]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def files_sha256(files: Iterable[str | Path]) -> dict[Path, str]:
    """{file: hex sha256} for ``files``, from the cache where size and mtime_ns still match."""
    path = cache_path()
    cache = _read(path)
    out, changed = {}, False
    for f in files:
        f = Path(f)
        key, st = str(f.resolve()), f.stat()
        entry = cache.get(key)
        if (isinstance(entry, dict) and entry.get("size") == st.st_size
                and entry.get("mtime_ns") == st.st_mtime_ns and isinstance(entry.get("sha256"), str)):
            out[f] = entry["sha256"]
            continue
        out[f] = file_sha256(f)
        cache[key] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": out[f]}
        changed = True
    if changed:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_json_atomic(path, cache)
        except OSError:
            pass  # a read-only cache folder: hash again next time
    return out
