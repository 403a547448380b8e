"""Issue 20 item 13: a damaged held-out shard no longer stops `dalpsr-train irpad`.

Before: after training, evaluation met a held-out batch with no decodable sample and raised
(a 69-line traceback); irpad.safetensors was never written, and a truncated shard was
logged as ``skipped sample None``. Now the weights are written before evaluation, the
evaluation skips corrupt samples as training does, and the counts go in eval.json,
irpad.json and the closing summary.
"""

from __future__ import annotations

import json
import logging

from typer.testing import CliRunner

from dalpsr_model.cli.train import app
from dalpsr_model.irpad.io import load_irpad
from tests.support.fake_build import write_fake_build


def test_an_unreadable_held_out_shard_is_counted_and_the_weights_are_saved(tmp_path, caplog):
    shards = write_fake_build(tmp_path / "b", [5, 7, 3, 6])
    held = shards / "shard-000003.tar"  # the last shard is held out (6 samples in index.json)
    held.write_bytes(held.read_bytes()[:100])  # truncated inside its first header
    out = tmp_path / "irpad"
    with caplog.at_level(logging.WARNING):
        res = CliRunner().invoke(app, ["irpad", "--shards", str(shards), "--out", str(out),
                                       "--max-steps", "2", "--width", "4", "--dim", "16", "--heads", "2",
                                       "--batch-size", "4", "--num-workers", "0", "--no-progress",
                                       "--mixed-precision", "no"])
    assert res.exit_code == 0, res.output  # was: CorruptSample traceback, exit 1
    load_irpad(out)  # the weights were written
    ev = json.loads((out / "eval.json").read_text())
    assert ev["n"] == 0 and ev["corrupt_samples"] == {"train_skips": 0, "held_out": 6}
    assert json.loads((out / "irpad.json").read_text())["eval"] == ev
    assert "corrupt samples skipped: 0 in training (over all epochs), 6 held out" in res.output
    skipped = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert skipped and all("shard-000003.tar" in m and "None" not in m for m in skipped), skipped
