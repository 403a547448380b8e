"""CaptionConfig: presets load, bad values fail with the field name, the output hash ignores runtime options."""

from __future__ import annotations

import dataclasses

import pytest

from dalpsr_data.caption.config import CaptionConfig
from dalpsr_data.config_io import ConfigError, from_dict, load_config


@pytest.mark.parametrize("preset", ["paper", "demo"])
def test_presets_load(preset):
    cfg = load_config(CaptionConfig, preset, "caption")
    assert cfg.image == "lr" and cfg.tagger == "ram"


@pytest.mark.parametrize("field,value,message", [
    ("image", "mid", "image must be one of"), ("ram_variant", "ram2", "ram_variant must be one of"),
    ("batch_size", 0, "batch_size must be >= 1"), ("ram_image_size", 100, "multiple of 32"),
    ("dtype", "bf16", "needs --device cuda"),
])
def test_bad_values_name_the_field(field, value, message):
    data = {"device": "cpu", field: value}
    with pytest.raises(ConfigError, match=message):
        from_dict(CaptionConfig, data)


def test_output_hash_ignores_runtime_options_only(monkeypatch):
    base = CaptionConfig(device="cpu")
    same = dataclasses.replace(base, batch_size=3, gpus=4, tag_batch_size=1, retries=0)
    assert base.output_hash() == same.output_hash()
    assert base.output_hash() != dataclasses.replace(base, max_new_tokens=5).output_hash()
    assert base.output_hash() != dataclasses.replace(base, image="hr").output_hash()
    monkeypatch.setenv("DALPSR_LLAVA", "/models/llava")
    assert base.resolved().llava == "/models/llava"
    assert CaptionConfig(device="cpu", llava="/x").resolved().llava == "/x"
