"""`dalpsr-sr` takes RAM's options with `dalpsr-data caption`'s names and defaults (issue 20
item 19): --ram-variant, --ram-tag-list, --ram-thresholds and --ram-dtype, passed on to the
caption stage that tags the LR images."""

from __future__ import annotations

import dataclasses

import pytest
from typer.testing import CliRunner

import dalpsr_model.sr.runner as sr_runner
from dalpsr_data.caption.config import CaptionConfig
from dalpsr_data.config_io import ConfigError
import dalpsr_model.cli.sr as sr_cli
from dalpsr_model.cli.sr import app
from dalpsr_model.sr.config import SRConfig
from dalpsr_model.sr.prompts import caption_config

RAM_OPTIONS = ("ram_variant", "ram_tag_list", "ram_thresholds", "ram_dtype")
REQUIRED = dict(inputs=("x.png",), out="o", base="b", controlnet="c", irpad="i")


@pytest.mark.parametrize("name", RAM_OPTIONS)
def test_same_default_as_caption(name):
    assert SRConfig(**REQUIRED).__getattribute__(name) == CaptionConfig().__getattribute__(name)


def test_the_options_reach_the_caption_stage(tmp_path, monkeypatch):
    seen = []

    def fake_run_sr(cfg, **_):  # the command also passes the inputs it listed
        seen.append(caption_config(cfg, "cuda"))
        raise ConfigError("stop")

    monkeypatch.setattr(sr_runner, "run_sr", fake_run_sr)  # the command imports it when it runs
    monkeypatch.setattr(sr_cli, "collect_inputs", lambda inputs: [])  # its checks before torch: pass
    monkeypatch.setattr(sr_cli, "check_base_folder", lambda base: None)
    res = CliRunner().invoke(app, ["x.png", "--out", str(tmp_path / "o"), "--base", "b", "--controlnet", "c",
                                   "--irpad", "i", "--ram-variant", "ram_plus", "--ram-tag-list", "tags.txt",
                                   "--ram-thresholds", "thr.txt", "--ram-dtype", "bf16"])
    assert res.exit_code == 2 and "stop" in res.output, res.output
    got = dataclasses.asdict(seen[0])
    assert {k: got[k] for k in RAM_OPTIONS} == {"ram_variant": "ram_plus", "ram_tag_list": "tags.txt",
                                                 "ram_thresholds": "thr.txt", "ram_dtype": "bf16"}


@pytest.mark.parametrize("change, message", [
    ({"ram_variant": "ram_large"}, "--ram-variant"),
    ({"ram_dtype": "int8"}, "--ram-dtype"),
    ({"ram_dtype": "bf16", "device": "cpu"}, "--ram-dtype bf16/fp16 needs --device cuda"),
])
def test_bad_values_are_refused_before_work(change, message):
    with pytest.raises(ConfigError, match=message):
        SRConfig(**REQUIRED, **change)
