"""A caption rerun with other settings is refused naming what changed (as the build does).

Found by rerunning `dalpsr-data caption` with another --max-new-tokens: the refusal gave only
two output-hash prefixes ("output hash e3f537eef734 != 4337b08d27a5"), so the user had to
diff caption.json by hand to find the option.
"""

from __future__ import annotations

import dataclasses

import pytest

from dalpsr_data.caption.config import CaptionConfig
from dalpsr_data.caption.run import write_caption_json
from dalpsr_data.config_io import ConfigError


def _cfg(**kw) -> CaptionConfig:
    return CaptionConfig(llava="/models/llava", tagger="none", device="cpu", **kw).resolved()


def test_changed_options_are_named_with_both_values(tmp_path):
    (tmp_path / "captions").mkdir()
    write_caption_json(tmp_path, _cfg(max_new_tokens=8))
    with pytest.raises(ConfigError) as e:
        write_caption_json(tmp_path, _cfg(max_new_tokens=9, image="hr"))
    msg = str(e.value)
    assert "--image: 'lr' -> 'hr'" in msg and "--max-new-tokens: 8 -> 9" in msg, msg
    assert msg.endswith("rerun with the same options, or add --overwrite to caption again")


def test_runtime_only_options_may_change(tmp_path):
    (tmp_path / "captions").mkdir()
    cfg = _cfg(batch_size=4)
    write_caption_json(tmp_path, cfg)
    write_caption_json(tmp_path, dataclasses.replace(cfg, batch_size=2, gpus=2))
