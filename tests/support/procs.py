"""Linux process table from /proc for tests: who is whose child, in which session, still alive."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    sid: int
    state: str  # one letter, as in ps: R, S, D, Z (a zombie: dead, not yet reaped) ...
    name: str  # the kernel's comm (15 characters at most)


def read_proc(pid: int) -> Proc | None:
    """``/proc/<pid>/stat`` parsed, or None when the process is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # "pid (comm) state ppid pgrp session ...": comm may hold spaces and ')', so split at the last.
    head, _, rest = text.rpartition(")")
    fields = rest.split()
    return Proc(pid, int(fields[1]), int(fields[3]), fields[0], head.partition("(")[2])


def all_procs() -> list[Proc]:
    procs = (read_proc(int(d.name)) for d in Path("/proc").iterdir() if d.name.isdigit())
    return [p for p in procs if p is not None]


def descendants(pid: int) -> list[Proc]:
    """Every live process below ``pid`` (children, their children, ...)."""
    table = all_procs()
    found, frontier = [], {pid}
    while frontier:
        kids = [p for p in table if p.ppid in frontier]
        found += kids
        frontier = {p.pid for p in kids}
    return found


def alive(pids: list[int]) -> list[Proc]:
    """Those of ``pids`` still running (a zombie has ended: only its parent has not reaped it)."""
    procs = (read_proc(pid) for pid in pids)
    return [p for p in procs if p is not None and p.state != "Z"]
