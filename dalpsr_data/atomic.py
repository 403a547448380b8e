"""Atomic file output: write to a temporary name in the same folder, fsync, rename.

Readers never see a half-written file: either the old content (or nothing) or the new
one. Temporary names start with ``.tmp-`` so a rerun can find and delete orphans.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import IO, Any, Iterator

TMP_PREFIX = ".tmp-"


def fsync_dir(path: Path) -> None:
    """fsync a directory so a rename inside it survives a power cut."""
    fd = os.open(str(path), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "wb") -> Iterator[IO[Any]]:
    """Open ``.tmp-<name>.<pid>`` for writing; on clean exit fsync and rename to ``path``.

    On an exception the temporary file is removed and the target is left untouched, also
    when closing the file fails again (a full disk raises ENOSPC on the flush and again on
    the close of the error path).
    """
    path = Path(path)
    tmp = path.with_name(f"{TMP_PREFIX}{path.name}.{os.getpid()}")
    encoding = None if "b" in mode else "utf-8"
    f = open(tmp, mode, encoding=encoding)
    try:
        yield f
        f.flush()
        os.fsync(f.fileno())
        f.close()
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except BaseException:
        _discard(f, tmp)
        raise


def _discard(f: IO[Any], tmp: Path) -> None:
    """Close ``f`` and remove ``tmp``, whatever the close raises: its buffered bytes cannot be
    written (that error is the one being raised already); io closes the descriptor anyway."""
    try:
        f.close()
    except OSError:
        pass
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` for a writer that wants a file name (safetensors'
    ``save_file``); on clean exit the file gets the mode ``atomic_open`` files get (0666
    minus the umask: some writers create 0600 files), is fsynced and renamed to ``path``.

    On an exception the temporary file is removed and the target is left untouched.
    """
    path = Path(path)
    tmp = path.with_name(f"{TMP_PREFIX}{path.name}.{os.getpid()}")
    try:
        # Created here first so its mode is what open() gives every other output; the
        # writer may replace the file with its own (e.g. 0600): that mode is put back.
        with open(tmp, "wb"):
            pass
        mode = os.stat(tmp).st_mode & 0o7777
        yield tmp
        os.chmod(tmp, mode)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def write_safetensors_atomic(path: str | Path, tensors: dict[str, Any],
                             metadata: dict[str, str] | None = None) -> None:
    """``safetensors.torch.save_file`` through :func:`atomic_path` (same bytes as save_file)."""
    from safetensors.torch import save_file  # torch is heavy: only writers of weights import it

    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    with atomic_open(path, "wb") as f:
        f.write(data)


def write_json_atomic(path: str | Path, obj: Any, indent: int | None = 2) -> None:
    """JSON with sorted keys (stable bytes for equal content), written atomically."""
    text = json.dumps(obj, indent=indent, sort_keys=True, ensure_ascii=False) + "\n"
    write_bytes_atomic(path, text.encode("utf-8"))


def fresh_temporary_dir(final: str | Path) -> Path:
    """An empty ``.tmp-<name>`` folder beside ``final`` (a stale one from a killed run is removed)."""
    final = Path(final)
    tmp = final.with_name(f"{TMP_PREFIX}{final.name}")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    return tmp


def commit_dir(tmp: str | Path, final: str | Path) -> None:
    """fsync every file of ``tmp``, then replace ``final`` (whole folder) by it and fsync the parent.

    A reader sees the old folder, no folder, or the complete new one; never a half-written one.
    """
    tmp, final = Path(tmp), Path(final)
    for p in tmp.rglob("*"):
        if p.is_file():
            with open(p, "rb") as f:
                os.fsync(f.fileno())
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    fsync_dir(final.parent)


def remove_orphan_temporaries(folder: str | Path) -> list[Path]:
    """Delete ``.tmp-*`` files left in ``folder`` by a killed writer; returns what was removed."""
    removed = []
    for p in sorted(Path(folder).glob(f"{TMP_PREFIX}*")):
        if p.is_file():
            p.unlink()
            removed.append(p)
    return removed


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks (shards, weight files)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
