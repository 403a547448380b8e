"""One run at a time per output folder: an exclusive ``flock`` on ``<folder>/.dalpsr.lock``.

Two runs into one folder (a second terminal, a re-queued job) would delete each other's
temporaries and mix their outputs. Every command that writes a folder (build, caption,
the trainers, the recipe, sr, eval) holds this lock while it works; a second run is
refused with :class:`OutputLocked` (a ConfigError: exit 2) naming the holder (pid, host,
command, start time, read from the lock file).

The kernel drops a ``flock`` when its process dies, so a lock file left by a killed run
(its text still naming a dead pid) is simply taken over. The file is removed on release;
a run that finds the path replaced while it waited (another run released and a third
created it anew) tries again, so two runs never hold locks on two different files.

A folder that cannot be created or written is not locked here: the command's own check
then refuses it with its usual message.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import fcntl
import functools
import json
import os
import socket
import sys
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

from dalpsr_data.config_io import ConfigError

LOCK_NAME = ".dalpsr.lock"
T = TypeVar("T")


class OutputLocked(ConfigError):
    """Another live run holds the folder's lock; the message names it and says what to do."""


def _holder(path: Path) -> str:
    """'pid N on HOST (COMMAND), since TIME' from the lock file, or a plain phrase."""
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        return (f"pid {info['pid']} on {info['host']} ({info['command']}), "
                f"since {info['started']}")
    except (OSError, ValueError, KeyError, TypeError):  # being written at this very moment
        return "another process"


def _made_dirs(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; returns the ones created, deepest first."""
    missing = []
    p = folder
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    folder.mkdir(parents=True, exist_ok=True)
    return missing


def _acquire(path: Path, option: str) -> int:
    """An fd holding the lock on ``path`` (raises OutputLocked when a live run holds it)."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(fd)
            if e.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            raise OutputLocked(f"{option} {path.parent} is in use by {_holder(path)}: wait for "
                               f"that run to finish (or stop it), or choose another {option}") from None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:  # released and removed between our open and our flock
            same = False
        if same:
            return fd
        os.close(fd)


@contextlib.contextmanager
def output_lock(folder: str | Path, option: str = "--out") -> Iterator[None]:
    """Hold ``folder``'s lock for the body (creating the folder when missing).

    ``option`` names the folder in the refusal (``--out``, ``BUILD``). Only the first
    process of a multi-process (accelerate) run locks; the others share its folder.
    """
    if os.environ.get("RANK", "0") != "0":
        yield
        return
    folder = Path(folder)
    path = folder / LOCK_NAME
    try:
        made = _made_dirs(folder)
        fd = _acquire(path, option)
    except OSError:  # unwritable or not a folder: the command's own check says so
        yield
        return
    info = {"pid": os.getpid(), "host": socket.gethostname(),
            "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])[:500],
            "started": datetime.datetime.now().astimezone().isoformat(timespec="seconds")}
    os.ftruncate(fd, 0)
    os.write(fd, (json.dumps(info) + "\n").encode())
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()  # while still locked: a waiting run then sees a replaced path
        os.close(fd)
        for d in made:  # folders this lock created and the run left empty (a refused run)
            with contextlib.suppress(OSError):
                d.rmdir()


def holds_out_lock(run: Callable[..., T]) -> Callable[..., T]:
    """Decorate ``run(cfg, ...)`` so that it runs holding ``cfg.out``'s lock."""

    @functools.wraps(run)
    def locked(cfg: Any, *args: Any, **kwargs: Any) -> T:
        with output_lock(cfg.out):
            return run(cfg, *args, **kwargs)

    return locked
