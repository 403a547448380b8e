"""The caption stage on a real local Ray (CPU actors), an actor crash, and the CLI."""

from __future__ import annotations

import dataclasses
import json

import pytest
from typer.testing import CliRunner

from dalpsr_data.caption.run import run_caption
from dalpsr_data.cli import app
from tests.caption import faults
from tests.caption.conftest import write_tiny_build


def _sidecars(root) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((root / "captions").glob("*.jsonl"))}


@pytest.fixture
def ray_faults(ray_local):
    """Ray workers do not have the repository's tests package: ship the fault module by value."""
    import ray.cloudpickle

    ray.cloudpickle.register_pickle_by_value(faults)
    yield
    ray.cloudpickle.unregister_pickle_by_value(faults)


@pytest.mark.slow
def test_ray_actors_equal_local_and_survive_a_crash(tmp_path, caption_cfg, ray_faults):
    cfg = dataclasses.replace(caption_cfg, gpus=2, cpus_per_actor=1)
    local = write_tiny_build(tmp_path / "local", [5, 3, 2], hr_size=128)
    run_caption(local, cfg, executor="local")

    remote = write_tiny_build(tmp_path / "ray", [5, 3, 2], hr_size=128)
    sentinel = tmp_path / "crash-once"
    sentinel.touch()
    failures = []
    summary = run_caption(remote, cfg, executor="ray", factory=faults.WrappingFactory("crash", str(sentinel)),
                          on_shard=lambda n, s, f: failures.append(f) if f else None)
    assert not sentinel.exists()  # one actor really died
    assert summary["done"] == 3 and not summary["failed_shards"] and failures == []
    assert _sidecars(remote) == _sidecars(local)


def test_cli_local_run_and_exit_codes(tmp_path, caption_cfg):
    root = write_tiny_build(tmp_path / "b", [3], hr_size=128)
    args = ["caption", str(root), "--local", "--no-progress", "--device", "cpu",
            "--llava", caption_cfg.llava, "--ram-checkpoint", caption_cfg.ram_checkpoint,
            "--ram-image-size", str(caption_cfg.ram_image_size), "--batch-size", "2", "--max-new-tokens", "4", "--max-tags", "2"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads((root / "captions" / "report.json").read_text())
    assert summary["ok"] == 3 and summary["done"] == 1
    assert "dalpsr-data caption" in result.stdout and "captioned" in result.stdout  # a table
    assert "{" not in result.stdout  # not the raw summary dict
    records = [json.loads(x) for x in (root / "captions" / "shard-000000.jsonl").read_text().splitlines()]
    assert all(len(r["instruction"].split(": ")[-1].split(", ")) <= 2 for r in records if r["tags"])
    again = CliRunner().invoke(app, args)  # resume: nothing left to do
    assert again.exit_code == 0 and json.loads((root / "captions" / "report.json").read_text())["skipped"] == 1
    bad = CliRunner().invoke(app, args[:-6] + ["--ram-tag-list", str(tmp_path / "tags.txt")])
    assert bad.exit_code == 2 and "--ram-tag-list" in bad.output
    wrong = CliRunner().invoke(app, args + ["--image", "mid"])
    assert wrong.exit_code == 2 and "image must be one of" in wrong.output
