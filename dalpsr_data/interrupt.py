"""Ctrl-C and ``kill``: one line on stderr and the conventional exit status, at the CLI boundary.

``with exit_on_signals("rerun the same command to resume"):`` around a command's work
turns SIGINT and SIGTERM into :class:`Interrupted` (a KeyboardInterrupt, so every
``finally`` on the way runs: temporaries are removed, an embedded Ray is shut down and its
folder deleted), then prints ``interrupted; <hint>`` and exits 130 (SIGINT) or 143
(SIGTERM). A second signal while that cleanup runs ends the process at once.
``ray_runtime.init_ray`` keeps these handlers in force over ``ray.init``, which would
otherwise install its own (a C++ stack dump on SIGTERM).

A trainer's step loop runs inside :func:`defer_signals`: the first signal lets the current
optimizer step finish and a checkpoint be written before ``Interrupted`` is raised.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from typing import Any, Callable, Iterator

SIGNALS = (signal.SIGINT, signal.SIGTERM)
RESUME = "rerun the same command to resume"  # the hint of the commands whose rerun resumes


class Interrupted(KeyboardInterrupt):
    """Raised in the main thread by SIGINT or SIGTERM; ``exit_code`` is 128 + the signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.exit_code = 128 + signum


def _message(hint: str | Callable[[], str]) -> str:
    if callable(hint):  # decided when the signal arrives (e.g. whether a checkpoint exists yet)
        hint = hint()
    return f"interrupted; {hint}" if hint else "interrupted"


@contextlib.contextmanager
def exit_on_signals(hint: str | Callable[[], str] = "") -> Iterator[None]:
    """See the module docstring. ``hint`` is said only where it is true (a resumable command);
    a callable is asked for it when the signal arrives."""
    state: dict[str, Any] = {"seen": None}

    def handler(signum: int, frame: Any) -> None:
        if state["seen"] is not None:  # a second signal during the cleanup: stop now
            os.write(2, (_message(hint) + "\n").encode())
            os._exit(128 + signum)
        state["seen"] = signum
        raise Interrupted(signum)

    old = {s: signal.signal(s, handler) for s in SIGNALS}
    try:
        yield
    except KeyboardInterrupt as e:  # Interrupted, or a KeyboardInterrupt raised elsewhere
        # Ray's compiled calls replace the Interrupted our handler raised inside them by a
        # plain KeyboardInterrupt: the signal seen, not the exception, decides the status.
        code = 128 + state["seen"] if state["seen"] is not None else getattr(e, "exit_code", 130)
        print(_message(hint), file=sys.stderr, flush=True)
        raise SystemExit(code) from None
    finally:
        for s, h in old.items():
            signal.signal(s, h)


class StopRequest:
    """What :func:`defer_signals` saw: ``signum`` is None until the first signal arrives."""

    def __init__(self) -> None:
        self.signum: int | None = None


@contextlib.contextmanager
def defer_signals(notice: str) -> Iterator[StopRequest]:
    """Inside, SIGINT/SIGTERM only set ``request.signum`` (and print ``notice``): the loop
    finishes what it is doing (a trainer: the optimizer step and a checkpoint) and then
    raises ``Interrupted(request.signum)``. A second signal ends the process at once.

    Outside the main thread (signals cannot be caught there) the request never fires.
    """
    request = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request
        return

    def handler(signum: int, frame: Any) -> None:
        if request.signum is not None:  # asked twice: the user does not want to wait
            os.write(2, b"interrupted again: stopped at once\n")
            os._exit(128 + signum)
        request.signum = signum
        os.write(2, (notice + "\n").encode())

    old = {s: signal.signal(s, handler) for s in SIGNALS}
    try:
        yield request
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def ignore_stop_signals(_worker_id: int = 0) -> None:
    """A helper process's SIGINT/SIGTERM handling (e.g. a DataLoader ``worker_init_fn``):
    ignore them, so a Ctrl-C or a SIGTERM to the process group leaves the decision to the
    main process, which stops its helpers when it has saved what it must."""
    for s in SIGNALS:
        signal.signal(s, signal.SIG_IGN)
