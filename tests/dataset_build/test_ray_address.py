"""An unreachable `--address`: one line naming the cluster's address, after at most
`--connect-timeout` seconds (a closed port: at once), exit 2, nothing created."""

from __future__ import annotations

import socket
import time

import pytest
from typer.testing import CliRunner

from dalpsr_data.cli import app
from dalpsr_data.ray_runtime import RayUnreachable, check_reachable

runner = CliRunner()


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now: a connect is refused at once
    return port


def test_closed_port_is_named_quickly(tmp_path):
    address = f"ray://127.0.0.1:{_closed_port()}"
    out = tmp_path / "out"
    t0 = time.perf_counter()
    res = runner.invoke(app, ["build", "--sources", "samples", "--address", address, "--out", str(out),
                              "--connect-timeout", "5", "--no-progress"])
    elapsed = time.perf_counter() - t0
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert f"the Ray cluster at {address} could not be reached within 5 s" in lines[0]
    assert "--connect-timeout" in lines[0] and "rerun" not in lines[0]
    assert elapsed < 5 and not out.exists()


def test_timeout_is_the_users(monkeypatch):
    seen = {}

    def no_answer(addr, timeout):
        seen["timeout"] = timeout
        raise TimeoutError("timed out")

    monkeypatch.setattr(socket, "create_connection", no_answer)
    with pytest.raises(RayUnreachable, match=r"at 10\.1\.2\.3:6379 could not be reached within 0\.5 s \(no answer\)"):
        check_reachable("10.1.2.3:6379", 0.5)
    assert seen["timeout"] == 0.5
    check_reachable("auto", 0.5)  # Ray finds a local cluster itself: nothing to probe
    res = runner.invoke(app, ["build", "--sources", "samples", "--connect-timeout", "0"])
    assert res.exit_code == 2 and "connect_timeout must be > 0" in res.stderr
