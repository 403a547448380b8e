"""`dalpsr-train controlnet` into a folder holding a run: refused without --resume/--overwrite
(issue 11 item 5); a finished run resumed reports its last loss, not nan (item 16)."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from dalpsr_model.cli.train import app


def _args(cn_build, tiny_sd_dir, out):
    return ["controlnet", "--shards", str(cn_build), "--base", str(tiny_sd_dir), "--out", str(out),
            "--batch-size", "2", "--num-workers", "0", "--shuffle-buffer", "4", "--max-steps", "2",
            "--crop", "64", "--validate-every", "0", "--no-progress", "--cpu", "--mixed-precision", "no",
            "--cond-embed-channels", "16", "--checkpoint-every", "2"]


def _last_loss(output: str) -> str:
    return re.search(r"last loss (\S+),", output).group(1)


def test_rerun_is_refused_and_a_finished_run_resumed_keeps_its_last_loss(cn_build, tiny_sd_dir, tmp_path):
    out = tmp_path / "cn"
    args = _args(cn_build, tiny_sd_dir, out)
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    saved = (out / "controlnet" / "diffusion_pytorch_model.safetensors").stat().st_mtime_ns

    again = CliRunner().invoke(app, args)
    assert again.exit_code == 2 and "--resume latest" in again.output and "--overwrite" in again.output
    assert (out / "controlnet" / "diffusion_pytorch_model.safetensors").stat().st_mtime_ns == saved

    resumed = CliRunner().invoke(app, args + ["--resume", "latest"])  # nothing left to train
    assert resumed.exit_code == 0, resumed.output
    assert "controlnet: step 2" in resumed.output
    assert _last_loss(resumed.output) == _last_loss(first.output) != "nan"
