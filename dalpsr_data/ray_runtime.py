"""Start or join Ray without leaving anything in the user's home or a shared /tmp path.

Ray >= 2.59 turns token authentication on for local clusters, writes the token to
``~/.ray/auth_token`` and keeps its session under ``/tmp/ray``. For an embedded Ray we
keep token auth on but hand Ray a fresh in-memory token (``RAY_AUTH_TOKEN``) so no file
is written, and give it a private temporary folder that is removed on shutdown. With an
``address`` the existing cluster's own settings (and token) are used unchanged.

Ray reads ``RAY_AUTH_MODE`` once, when it is first imported, so this module owns the
first ``import ray`` of the project: code that needs Ray calls :func:`init_ray` (or
:func:`import_ray` after it), never ``import ray`` on its own before that.

``ray.init`` replaces the process's SIGTERM handler (Python's and, in its C++ core, one
that prints a stack dump on SIGTERM). ``init_ray`` puts back the SIGINT/SIGTERM handlers
that were there before, so a command's own handling of Ctrl-C and ``kill`` stays in force
(see dalpsr_data/interrupt.py).

An embedded Ray's service processes (gcs_server, raylet, ...) start in a session of their
own (:func:`_services_in_own_session`): a SIGTERM to the command's process group (a
scheduler stopping a job) then reaches only the driver, which shuts Ray down in order and
exits 143 in ~4 s (in the driver's group they died at once, and the shutdown then waited
~10 s on the dead services: a scheduler's grace period may be shorter). Ray still ties them
to the driver with PR_SET_PDEATHSIG, so a ``kill -9`` of the driver takes them down too.

With an ``address``, the cluster's host and port are first tried with a plain TCP connect
bounded by ``connect_timeout`` (Ray's client would retry for ~30 s before its own, vaguer
error), and :class:`RayUnreachable` names the address.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import threading
from typing import Any

from dalpsr_data.config_io import ConfigError
from dalpsr_data.interrupt import Interrupted

_state: dict[str, Any] = {"temp_dir": None, "owned": False}
DEFAULT_CONNECT_TIMEOUT = 15.0  # seconds


class RayUnreachable(ConfigError):
    """The Ray cluster at a given address did not answer (refused, or no reply in time)."""


def check_reachable(address: str, timeout: float) -> None:
    """TCP connect to ``ray://host:port`` or ``host:port`` within ``timeout`` seconds.

    ``auto`` and anything without a port are left to Ray (it finds a local cluster itself).
    """
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except OSError as e:
        why = "no answer" if isinstance(e, TimeoutError) else (e.strerror or str(e))
        raise RayUnreachable(f"the Ray cluster at {address} could not be reached within "
                             f"{timeout:g} s ({why})") from None


def _cleanup_temp_dir() -> None:
    path = _state.get("temp_dir")
    if path and _state.get("owned"):  # at exit: stop Ray first, or it writes into the folder again
        import ray

        with contextlib.suppress(Exception):
            ray.shutdown()
    if path:
        shutil.rmtree(path, ignore_errors=True)
        _state["temp_dir"] = None


TEMP_PREFIX = "dalpsr-ray-"
# Ray puts Unix sockets at <temp dir>/session_<date>_<time>_<pid>/sockets/plasma_store, and a
# socket path may hold 107 bytes at most: a long $TMPDIR (a Slurm job's, pytest's) would fail.
MAX_SOCKET_PATH = 107
_SOCKET_TAIL = len("/dalpsr-ray-4194304-abcdefgh/session_2026-11-30_13-10-35_939273_4194304/sockets/plasma_store")


def temp_root() -> str:
    """Where the embedded Ray's folder goes: ``$TMPDIR``, or /tmp when that is too long for sockets."""
    root = tempfile.gettempdir()
    if len(root) + _SOCKET_TAIL > MAX_SOCKET_PATH and os.access("/tmp", os.W_OK):
        return "/tmp"
    return root


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def remove_stale_temp_dirs(root: str | None = None) -> list[str]:
    """Delete ``dalpsr-ray-<pid>-*`` folders whose driver process is gone (killed with -9).

    The owning pid is part of the folder name, so a live build's folder is never touched.
    """
    root = root or temp_root()
    removed = []
    for name in sorted(os.listdir(root)):
        if not name.startswith(TEMP_PREFIX):
            continue
        pid_text = name[len(TEMP_PREFIX):].split("-", 1)[0]
        if pid_text.isdigit() and not _pid_alive(int(pid_text)):
            shutil.rmtree(os.path.join(root, name), ignore_errors=True)
            removed.append(name)
    return removed


def _embedded_auth_env() -> None:
    os.environ.setdefault("RAY_AUTH_MODE", "token")
    if os.environ["RAY_AUTH_MODE"] == "token" and not os.environ.get("RAY_AUTH_TOKEN"):
        os.environ["RAY_AUTH_TOKEN"] = secrets.token_hex(32)
    # Ray's own usage-stats prompt and log deduplication only add noise on a laptop.
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")


def import_ray(address: str | None = None):  # noqa: ANN201 (the ray module)
    """``import ray`` with the embedded-cluster auth environment set first (none with an address)."""
    if not address:
        _embedded_auth_env()
    import ray

    return ray


def init_ray(address: str | None = None, num_cpus: int | None = None,
             num_gpus: int | None = None, quiet: bool = True,
             connect_timeout: float = DEFAULT_CONNECT_TIMEOUT) -> bool:
    """Make sure Ray is initialised; returns True when this call started it.

    Reuses an already running Ray in this process (tests share one session). An
    ``address`` that cannot be reached raises :class:`RayUnreachable` after at most
    ``connect_timeout`` seconds (a refused port at once).
    """
    if address:
        check_reachable(address, connect_timeout)
    # Before `import ray`: Ray's core reads RAY_AUTH_MODE once, when it is first imported
    # (set later, the GCS starts with token auth but the driver's client has none).
    ray = import_ray(address)
    if ray.is_initialized():
        return False
    handlers = _signal_handlers()
    try:
        return _init(ray, address, num_cpus, num_gpus, quiet)
    except BaseException as e:  # Ctrl-C, kill or an error while Ray starts: stop what started
        shutdown_ray()
        if isinstance(e, SystemExit) and e.code == signal.SIGTERM:  # Ray's own SIGTERM handler
            raise Interrupted(signal.SIGTERM) from None
        raise
    finally:
        _restore(handlers)


def _signal_handlers() -> dict[int, object]:
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}


def _restore(handlers: dict[int, object]) -> None:
    for sig, handler in handlers.items():
        if handler is not None:  # None: installed outside Python, cannot be put back
            signal.signal(sig, handler)  # type: ignore[arg-type]


def _init(ray, address: str | None, num_cpus: int | None, num_gpus: int | None,  # noqa: ANN001
          quiet: bool) -> bool:
    common = dict(log_to_driver=not quiet, logging_level="ERROR", configure_logging=True)
    if address:
        try:
            ray.init(address=address, **common)
        except ConnectionError as e:  # the port answered, but not as a Ray cluster
            raise RayUnreachable(f"the Ray cluster at {address} could not be reached ({e})") from None
        _state["owned"] = False
        return True
    remove_stale_temp_dirs()
    temp_dir = tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", dir=temp_root())
    _state["temp_dir"] = temp_dir
    atexit.register(_cleanup_temp_dir)
    _state["owned"] = True  # from here on: stopped and removed at exit, even if init is cut short
    with _services_in_own_session(ray):
        ray.init(num_cpus=num_cpus, num_gpus=num_gpus, _temp_dir=temp_dir,
                 include_dashboard=False, **common)
    return True


@contextlib.contextmanager
def _services_in_own_session(ray):  # noqa: ANN001, ANN202 (the ray module; a context manager)
    """While ``ray.init`` starts a local cluster: Ray's service processes get ``setsid``.

    Ray 2.60 starts each of them through ``ray._private.services.ConsolePopen`` (a
    ``subprocess.Popen``); for these few seconds it is swapped for a subclass that adds
    ``start_new_session=True``. Only where Ray has kernel fate-sharing (Linux
    PR_SET_PDEATHSIG): without it Ray's reaper kills its services by their process group,
    which must then stay the driver's.
    """
    services = ray._private.services
    base = getattr(services, "ConsolePopen", None)
    if base is None or not ray._private.utils.detect_fate_sharing_support_linux():
        yield
        return

    class OwnSessionPopen(base):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["start_new_session"] = True
            super().__init__(*args, **kwargs)

    services.ConsolePopen = OwnSessionPopen
    try:
        yield
    finally:
        services.ConsolePopen = base


def owns_ray() -> bool:
    """True while this process runs an embedded Ray that it started (not a cluster's client)."""
    return bool(_state["owned"])


def shutdown_ray() -> None:
    """Shut down a Ray this module started and delete its temporary folder."""
    ray = sys.modules.get("ray")
    if ray is not None:
        with contextlib.suppress(Exception):
            ray.shutdown()
    _state["owned"] = False
    _cleanup_temp_dir()
