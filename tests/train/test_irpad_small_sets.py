"""IRPAD on small photo sets: a one-shard build is refused with what to set, and a small
held-out split is trained on with a warning that says how uncertain its accuracy is."""

from __future__ import annotations

import logging
import math

import pytest

from dalpsr_data.config_io import ConfigError
from dalpsr_model.irpad.trainer import MIN_HELD_OUT, IrpadConfig, held_out_warning, train_irpad
from tests.support.fake_build import write_fake_build

SMALL = dict(width=4, dim=16, heads=2, batch_size=4, num_workers=0, shuffle_buffer=4,
             warmup_steps=0, progress=False, holdout_shards=1, max_steps=1, tta=False)


def test_small_held_out_split_warns(fake_build, tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        train_irpad(IrpadConfig(shards=str(fake_build), out=str(tmp_path / "a"), **SMALL))
    msgs = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    # the last of the fixture's shards (5, 7, 3, 6 samples) is held out
    assert any("held-out split has 6 samples" in m and "--val-shards" in m for m in msgs), msgs
    # the interval in the message is the normal approximation written out
    assert f"+-{100 * 1.96 * math.sqrt(0.25 / 6):.0f} points" in held_out_warning(6)
    assert held_out_warning(MIN_HELD_OUT) is None and MIN_HELD_OUT >= 200


def test_one_shard_build_says_what_to_set(tmp_path):
    one = write_fake_build(tmp_path / "one", [40])
    with pytest.raises(ConfigError, match=r"1 shard\(s\) of 40 samples.*--shard-size 5 for about 8 shards"):
        train_irpad(IrpadConfig(shards=str(one), out=str(tmp_path / "o"), **SMALL))
    assert not (tmp_path / "o").exists()
