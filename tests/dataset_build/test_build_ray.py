"""The Ray executor on the shared local Ray (2 CPUs): same bytes as the local loop, retries."""

from __future__ import annotations

import os
import signal

import pytest

from dalpsr_data.build.config import BuildConfig, PatchConfig
from dalpsr_data.build.runner import BuildFailed, run_build
from dalpsr_data.build.process_shard import process_shard
from tests.dataset_build.conftest import SAMPLES_CFG, tree_bytes


def _ray_build(out, deg_cfg, workers, shard_fn=process_shard):
    return run_build(BuildConfig(**SAMPLES_CFG, out=str(out), executor="ray", workers=workers,
                                 max_retries=1), PatchConfig(per_image=1), deg_cfg, shard_fn=shard_fn)


def test_one_and_two_workers_give_the_local_bytes(ray_local, tmp_path, reference_build, deg_cfg):
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        result = _ray_build(out, deg_cfg, workers)
        assert len(result.built) == 6 and result.failed == {}
        assert tree_bytes(out) == tree_bytes(reference_build)


def test_killed_worker_is_retried_and_a_failing_shard_is_named(ray_local, tmp_path, reference_build, deg_cfg):
    flag = tmp_path / "killed-once"

    def chaos(task):
        # Defined here so Ray pickles it by value. kill -9 of the worker on the first attempt.
        if task.name == "shard-000002.tar" and not flag.exists():
            flag.write_text("x")
            os.kill(os.getpid(), signal.SIGKILL)
        if task.name == "shard-000004.tar":
            raise RuntimeError("injected failure")
        return process_shard(task)

    out = tmp_path / "out"
    with pytest.raises(BuildFailed, match=r"shard-000004.tar: RuntimeError: injected failure") as e:
        _ray_build(out, deg_cfg, 2, chaos)
    assert flag.exists() and "shard-000002.tar" in e.value.result.built
    assert sorted(e.value.result.built) == [f"shard-00000{i}.tar" for i in (0, 1, 2, 3, 5)]
    result = _ray_build(out, deg_cfg, 2)
    assert result.built == ["shard-000004.tar"]
    assert tree_bytes(out) == tree_bytes(reference_build)
