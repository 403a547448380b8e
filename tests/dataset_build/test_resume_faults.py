"""Fault injection: kill -9 mid-build, orphans, half-written shards, failing shards."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml

from dalpsr_data import schema
from dalpsr_data.build.config import BuildConfig, PatchConfig
from dalpsr_data.build.runner import BuildFailed, run_build
from dalpsr_data.build.process_shard import process_shard
from tests.dataset_build.conftest import SAMPLES_CFG, tree_bytes

REPO = Path(__file__).resolve().parents[2]


def _preset(tmp_path: Path, deg_cfg) -> Path:
    deg = {"calibration_path": deg_cfg.calibration_path} if deg_cfg.calibration_path else {}
    path = tmp_path / "preset.yaml"
    path.write_text(yaml.safe_dump({"degradation": deg, "patches": {"per_image": 1},
                                    "build": {"shard_size": SAMPLES_CFG["shard_size"]}}))
    return path


def _resume(out: Path, deg_cfg, **kw):
    return run_build(BuildConfig(**SAMPLES_CFG, out=str(out), executor="local", **kw),
                     PatchConfig(per_image=1), deg_cfg)


def test_kill9_mid_build_then_rerun_gives_identical_bytes(tmp_path, reference_build, deg_cfg):
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "dalpsr_data.cli", "build", "--sources", "samples", "--pipeline",
           str(_preset(tmp_path, deg_cfg)), "--out", str(out), "--executor", "local", "--no-progress"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not list(out.glob("shard-*.done.json")):
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    committed = len(list(out.glob("shard-*.done.json")))
    assert 1 <= committed < 6 and not (out / schema.INDEX_JSON).exists()
    # Litter a crash can leave: an orphan temporary and a truncated tar without its marker.
    (out / ".tmp-shard-000005.tar.424242").write_bytes(b"half a tar")
    (out / "shard-000005.tar").write_bytes((reference_build / "shard-000005.tar").read_bytes()[:5000])
    result = _resume(out, deg_cfg)
    assert ".tmp-shard-000005.tar.424242" in result.removed_temporaries
    assert len(result.resumed) == committed and "shard-000005.tar" in result.built
    assert tree_bytes(out) == tree_bytes(reference_build)
    assert not list(out.glob(".tmp-*"))


def test_failing_shard_is_retried_then_named_and_others_committed(tmp_path, reference_build, deg_cfg):
    calls: Counter = Counter()

    def flaky(task):
        calls[task.name] += 1
        if task.name == "shard-000001.tar" and calls[task.name] == 1:
            raise OSError("transient failure")
        if task.name == "shard-000003.tar":
            raise OSError(28, "No space left on device")
        return process_shard(task)

    out = tmp_path / "out"
    with pytest.raises(BuildFailed, match=r"1 shard\(s\) failed.*shard-000003.tar: OSError: .*No space left") as e:
        run_build(BuildConfig(**SAMPLES_CFG, out=str(out), executor="local"), PatchConfig(per_image=1),
                  deg_cfg, shard_fn=flaky)
    assert calls["shard-000001.tar"] == 2 and calls["shard-000003.tar"] == 3  # 2 retries
    assert list(e.value.result.failed) == ["shard-000003.tar"]
    markers = sorted(p.name for p in out.glob("shard-*.done.json"))
    assert len(markers) == 5 and "shard-000003.done.json" not in markers
    assert not (out / "shard-000003.tar").exists() and not list(out.glob(".tmp-*"))
    assert not (out / schema.INDEX_JSON).exists()
    result = _resume(out, deg_cfg)
    assert result.built == ["shard-000003.tar"]
    assert tree_bytes(out) == tree_bytes(reference_build)


def test_tampered_shard_is_rebuilt(tmp_path, reference_build, deg_cfg):
    out = tmp_path / "out"
    shutil.copytree(reference_build, out)
    tar = out / "shard-000002.tar"
    tar.write_bytes(tar.read_bytes()[:-1024])  # size no longer matches its marker

    def fail(task):
        raise OSError("still broken")

    with pytest.raises(BuildFailed, match="shard-000002.tar"):
        run_build(BuildConfig(**SAMPLES_CFG, out=str(out), executor="local", max_retries=0),
                  PatchConfig(per_image=1), deg_cfg, shard_fn=fail)
    assert not (out / schema.INDEX_JSON).exists()  # the old index no longer describes the folder
    result = _resume(out, deg_cfg)
    assert result.built == ["shard-000002.tar"]
    assert tree_bytes(out) == tree_bytes(reference_build)
