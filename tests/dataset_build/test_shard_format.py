"""A build made by an older pipeline (another shard_format) is never resumed into: the rerun
is refused before any work, naming the field, so old and new shard bytes are not mixed."""

from __future__ import annotations

import json

import pytest

from dalpsr_data import schema
from dalpsr_data.build import config
from dalpsr_data.build.config import BuildConfig, PatchConfig
from dalpsr_data.build.runner import run_build
from dalpsr_data.config_io import ConfigError
from tests.dataset_build.conftest import make_good_folder


def test_older_shard_format_is_refused_not_resumed(tmp_path, deg_cfg, monkeypatch):
    folder = make_good_folder(tmp_path / "src", n=1, size=(520, 530))
    cfg = BuildConfig(sources=(f"folder={folder}",), out=str(tmp_path / "out"), executor="local",
                      shard_size=1)
    monkeypatch.setattr(config, "SHARD_FORMAT", 1)
    run_build(cfg, PatchConfig(per_image=1), deg_cfg)
    meta = json.loads((tmp_path / "out" / schema.BUILD_JSON).read_text())
    assert meta["output_config"]["shard_format"] == 1
    before = {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()}
    monkeypatch.setattr(config, "SHARD_FORMAT", 3)
    with pytest.raises(ConfigError, match="shard_format.*--overwrite"):
        run_build(cfg, PatchConfig(per_image=1), deg_cfg)
    assert {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()} == before
