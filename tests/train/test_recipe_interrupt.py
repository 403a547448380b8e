"""Ctrl-C / kill during the recipe (`dalpsr-train --shards S --base SD`): one line, 130 / 143.

Found by interrupting the recipe on its defaults during IRPAD: it exited 130 with no line at
all (the stage commands print one; the recipe had no signal handling, so SIGTERM got none of
the cleanup either).
"""

from __future__ import annotations

import json
import os
import signal

from typer.testing import CliRunner

import dalpsr_model.recipe as recipe_cli  # the command imports the recipe when it runs
from dalpsr_model.cli.train import app


def _interrupt_with(sig, monkeypatch):
    def run(rc, plan):
        os.kill(os.getpid(), sig)  # delivered to the handler in force around the stages
        raise AssertionError("the signal must stop the run")

    monkeypatch.setattr(recipe_cli, "plan_recipe", lambda rc: object())
    monkeypatch.setattr(recipe_cli, "run_recipe", run)


def test_sigint_during_the_recipe_says_one_line_and_exits_130(tmp_path, monkeypatch):
    _interrupt_with(signal.SIGINT, monkeypatch)
    res = CliRunner().invoke(app, ["--shards", "s", "--base", "b", "--out", str(tmp_path)])
    assert res.exit_code == 130, res.output
    assert res.output.strip().splitlines()[-1] == (
        "interrupted; rerun the same command: finished stages are reused "
        "(the interrupted one had no checkpoint yet)")


def test_sigterm_with_a_checkpoint_says_resume_latest_and_exits_143(tmp_path, monkeypatch):
    ckpt = tmp_path / "irpad" / "checkpoints" / "checkpoint-00000500"
    ckpt.mkdir(parents=True)
    (ckpt / "meta.json").write_text(json.dumps({"step": 500}))
    _interrupt_with(signal.SIGTERM, monkeypatch)
    res = CliRunner().invoke(app, ["--shards", "s", "--base", "b", "--out", str(tmp_path)])
    assert res.exit_code == 143, res.output
    assert res.output.strip().splitlines()[-1].startswith(
        "interrupted; rerun the same command with --resume latest: finished stages are reused")
