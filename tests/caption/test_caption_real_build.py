"""Integration: caption the output of the real builder (embedded sample photos) and join it."""

from __future__ import annotations

import json

import pytest

from dalpsr_data import build, schema
from dalpsr_data.caption.run import run_caption
from dalpsr_data.caption.sidecar import iter_captioned_samples
from dalpsr_data.config_io import ConfigError


def _degradation_config(tmp_path):
    """Default degradation; a small fresh calibration table while the packaged one is stale
    (this test checks captioning of real shards, not the calibration)."""
    from dalpsr_data.degradation import DegradationConfig
    from dalpsr_data.degradation.calibration import calibrate, load_table

    try:
        load_table(DegradationConfig())
        return DegradationConfig()
    except ConfigError:
        path = tmp_path / "calibration.json"
        path.write_text(json.dumps(calibrate(DegradationConfig(), samples=2000, seed=1)))
        return DegradationConfig(calibration_path=str(path))


def test_caption_a_real_build(tmp_path, caption_cfg):
    out = tmp_path / "shards"
    build.run_build(build.BuildConfig(sources=("samples",), limit=3, shard_size=2, seed=0, out=str(out),
                                      executor="local"), build.PatchConfig(per_image=1), _degradation_config(tmp_path))
    index = schema.read_index(out)
    summary = run_caption(out, caption_cfg, executor="local")
    total = sum(e["nsamples"] for e in index["shardlist"])
    assert summary["samples"] == summary["ok"] == total == 3 and summary["done"] == len(index["shardlist"])
    joined = list(iter_captioned_samples(out))
    tar_keys = [k for e in index["shardlist"] for k, _ in schema.iter_tar_samples(out / e["url"])]
    assert [k for k, _, _ in joined] == tar_keys
    assert all(rec["caption"] and rec["image"] == "lr" and "lr.png" in m for _, m, rec in joined)
