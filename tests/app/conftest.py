"""Fixtures of the `dalpsr-app` tests: the tiny model stack, two builds, one running server.

The server is a real `python -m dalpsr_model.cli.app` process on a free port of 127.0.0.1
(started once per session: loading gradio and the models is most of the cost). Its
teardown is a test of its own: SIGINT must stop it with one line and exit 130, and its
temporary folder must be gone.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from dalpsr_model.models.tiny_llava import build_tiny_llava
from tests.caption.tiny_ram import TINY_IMAGE_SIZE, build_tiny_ram
from tests.support.fake_build import write_fake_build
from tests.support.tiny_sr import build_tiny_sr_models

ROOT = Path(__file__).resolve().parents[2]
MAX_PIXELS = 40_000          # small, so an over-limit upload is cheap to make
START_TIMEOUT = 240
SERVING = re.compile(r"dalpsr-app: serving (http://\S+) .*temporary files in (\S+)\)")


@pytest.fixture(scope="session")
def app_models(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("app_models")
    models = build_tiny_sr_models(root)
    models["llava"] = build_tiny_llava(root / "llava")
    models["ram"] = build_tiny_ram(root / "ram", "ram")
    return models


@pytest.fixture(scope="session")
def app_builds(tmp_path_factory) -> list[Path]:
    """A real build of the embedded samples (1 patch each, local executor) and a captioned
    fake build: the Dataset tab browses both."""
    from dalpsr_data.build.config import BuildConfig, PatchConfig
    from dalpsr_data.build.runner import run_build

    root = tmp_path_factory.mktemp("app_builds")
    real = root / "samples"
    run_build(BuildConfig(sources=("samples",), shard_size=4, seed=0, out=str(real), executor="local"),
              PatchConfig(per_image=1))
    fake = write_fake_build(root / "fake", [6, 5], captions=True, hr_size=128, lr_size=32)
    return [real, fake]


def app_args(models: dict[str, Path], *extra: str) -> list[str]:
    return ["--base", str(models["base"]), "--controlnet", str(models["controlnet"]),
            "--irpad", str(models["irpad"]), "--llava", str(models["llava"]),
            "--ram-checkpoint", str(models["ram"]), "--ram-image-size", str(TINY_IMAGE_SIZE),
            "--caption-max-new-tokens", "6", "--device", "cpu", *extra]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    tmp: Path
    proc: subprocess.Popen
    lines: list[str] = field(default_factory=list)


def start_server(args: list[str]) -> Server:
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "dalpsr_model.cli.app", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True).start()
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        found = [m for m in map(SERVING.search, lines) if m]
        if found:
            return Server(found[0].group(1), Path(found[0].group(2)), proc, lines)
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("dalpsr-app did not start:\n" + "".join(lines))


@pytest.fixture(scope="session")
def app_server(app_models, app_builds) -> Server:
    port = free_port()
    shards = [a for b in app_builds for a in ("--shards", str(b))]
    server = start_server(app_args(app_models, "--port", str(port), "--max-pixels", str(MAX_PIXELS),
                                   "--page-size", "8", *shards))
    assert server.url == f"http://127.0.0.1:{port}/"      # bound to this machine only
    assert server.tmp.is_dir()
    yield server
    server.proc.send_signal(signal.SIGINT)
    assert server.proc.wait(timeout=60) == 130, "".join(server.lines)
    time.sleep(0.2)  # the reader thread takes the last lines
    tail = [ln for ln in server.lines if ln.strip()][-1]
    assert tail.strip() == "interrupted", "".join(server.lines[-5:])
    assert not server.tmp.exists(), f"{server.tmp} (uploads, results) must be removed at exit"
