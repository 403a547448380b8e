"""Issue 20 item 9: SIGINT/SIGTERM to a build exits 128 + the signal and leaves no ``.tmp-``.

Seen before: SIGTERM to a Ray build's process group sometimes exited 130 (Ray's compiled
``ray.wait``/``ray.get`` replace the Interrupted our handler raises inside them by a plain
KeyboardInterrupt) and sometimes left ``.tmp-shard-NNNNNN.tar.<pid>`` (a worker killed
with its Ray never runs its own clean-up), and sometimes exited 1 (Ray's gcs_server and
raylet, in the driver's process group, died of the same SIGTERM first and the driver's C++
core crashed). The in-process tests pin each cause; the slow one runs the real thing 10 times.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dalpsr_data.build.config import BuildConfig
from dalpsr_data.build.runner import run_build
from dalpsr_data.interrupt import exit_on_signals
from tests.dataset_build.conftest import make_good_folder
from tests.support.procs import descendants

REPO = Path(__file__).resolve().parents[2]


def test_a_signal_swallowed_into_a_plain_keyboardinterrupt_still_exits_143():
    with pytest.raises(SystemExit) as e:
        with exit_on_signals("x"):
            try:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(5)  # the handler raises in here
            except KeyboardInterrupt:
                raise KeyboardInterrupt() from None  # what Ray's check_status raises instead
    assert e.value.code == 143  # was: 130


def test_an_interrupted_build_removes_what_its_killed_workers_were_writing(tmp_path):
    src = make_good_folder(tmp_path / "p", n=2, size=(300, 300))
    out = tmp_path / "out"

    def killed_worker(task):  # a worker's partial tar, then the driver is interrupted
        (out / f".tmp-{task.name}.{os.getpid() + 1}").write_bytes(b"partial tar")
        raise KeyboardInterrupt()

    cfg = BuildConfig(sources=(f"folder={src}",), out=str(out), shard_size=1, executor="local")
    with pytest.raises(KeyboardInterrupt):
        run_build(cfg, shard_fn=killed_worker)
    assert sorted(p.name for p in out.iterdir()) == ["build.json"]  # was: + .tmp-shard-000000.tar.<pid>


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc; Ray's fate-sharing")
def test_an_embedded_rays_services_are_out_of_the_drivers_process_group(ray_local):
    services = [p for p in descendants(os.getpid()) if p.name in ("gcs_server", "raylet")]
    assert sorted(p.name for p in services) == ["gcs_server", "raylet"]
    # Each leads a session of its own, so a signal to the driver's group misses them.
    assert [p.sid == p.pid for p in services] == [True, True], (os.getsid(0), services)  # was: ours


@pytest.mark.slow
def test_sigterm_to_a_ray_builds_process_group_ten_times(tmp_path):
    src = make_good_folder(tmp_path / "p", n=6, size=(560, 600))
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    codes, left, odd = [], [], []
    for i in range(10):
        out = tmp_path / f"out{i}"
        args = [sys.executable, "-m", "dalpsr_data.cli", "build", "--sources", f"folder={src}",
                "--out", str(out), "--patches-per-image", "1", "--shard-size", "1",
                "--workers", "2", "--no-progress"]
        proc = subprocess.Popen(args, cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
        deadline = time.monotonic() + 240
        # A shard being written, or the first one committed: a tar's write takes milliseconds,
        # so a poll can miss every one and the build would end before the signal.
        while not any(out.glob(".tmp-shard-*")) and not any(out.glob("shard-*.done.json")):
            assert proc.poll() is None, f"run {i} ended before the signal: {proc.communicate()}"
            assert time.monotonic() < deadline, "no shard was ever being written"
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGTERM)  # as a scheduler stops a job: the whole group
        _, err = proc.communicate(timeout=120)
        codes.append(proc.returncode)
        left += [p.name for p in out.glob(".tmp-*")]
        assert "Traceback" not in err, err[-3000:]
        if proc.returncode != 143:
            odd.append(err[:1500])
    assert codes == [143] * 10 and left == [], (codes, left, odd)
