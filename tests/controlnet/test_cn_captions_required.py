"""`--use-captions` (the default) on a build without captions fails before any work, naming
`dalpsr-data caption` and `--no-use-captions`; a partly captioned build says how many samples
lack one (issue 11 item 12)."""

from __future__ import annotations

import json
import logging

import pytest
from typer.testing import CliRunner

from dalpsr_data.config_io import ConfigError
from dalpsr_data.schema import CAPTIONS_DIR, marker_path
from dalpsr_model.cli.train import app
from dalpsr_model.controlnet.trainer import train_controlnet
from tests.support.fake_build import write_fake_build


def test_a_build_without_captions_is_refused_before_any_work(tiny_sd_dir, tmp_path, monkeypatch):
    import dalpsr_model.controlnet.trainer as trainer_module  # patched where the trainer looks it up

    def no_loading(*args, **kwargs):  # the check must come before the base is loaded
        raise AssertionError("the base model was loaded")

    monkeypatch.setattr(trainer_module, "load_base", no_loading)
    bare = write_fake_build(tmp_path / "bare", [4, 4])
    out = tmp_path / "run"
    res = CliRunner().invoke(app, ["controlnet", "--shards", str(bare), "--base", str(tiny_sd_dir),
                                   "--out", str(out), "--cpu", "--mixed-precision", "no"])
    assert res.exit_code == 2, res.output
    assert res.output.count("\n") == 1 and "Traceback" not in res.output
    assert f"dalpsr-data caption {bare}" in res.output and "--no-use-captions" in res.output
    assert not out.exists()


def test_no_use_captions_trains_an_uncaptioned_build(cn_config, tmp_path):
    bare = write_fake_build(tmp_path / "bare", [4, 4])
    with pytest.raises(ConfigError, match="--no-use-captions"):
        train_controlnet(cn_config(shards=str(bare), out=str(tmp_path / "a"), max_steps=1))
    result = train_controlnet(cn_config(shards=str(bare), out=str(tmp_path / "b"), max_steps=1,
                                        use_captions=False))
    assert result.step == 1


def test_a_partly_captioned_build_says_how_many_samples_lack_one(cn_config, tmp_path, caplog):
    part = write_fake_build(tmp_path / "part", [4, 4, 4], captions=True)
    # shard 1: its sidecar not committed (no marker); shard 2: one caption failed (empty)
    marker_path(part / CAPTIONS_DIR / "shard-000001.jsonl").unlink()
    side = part / CAPTIONS_DIR / "shard-000002.jsonl"
    rows = [json.loads(x) for x in side.read_text().splitlines()]
    rows[0].update(status="error", caption="")
    side.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with caplog.at_level(logging.WARNING):
        result = train_controlnet(cn_config(shards=str(part), out=str(tmp_path / "p"), max_steps=1))
    assert result.step == 1
    warned = [r.getMessage() for r in caplog.records if "have no caption" in r.getMessage()]
    assert len(warned) == 1
    assert "5 of 12 samples" in warned[0] and "1 uncaptioned shard" in warned[0] and "1 failed caption" in warned[0]
