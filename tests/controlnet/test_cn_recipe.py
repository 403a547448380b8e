"""`dalpsr-train --shards DIR` with no stage on a captioned build: IRPAD, then the ControlNet,
from one preset (the whole flow with alignment and captioning: test_recipe_flow.py)."""

from __future__ import annotations

import json

import yaml
from typer.testing import CliRunner

from dalpsr_model.cli.train import app

TINY_PRESET = {
    "irpad": {"batch_size": 4, "max_steps": 2, "num_workers": 0, "shuffle_buffer": 4,
              "holdout_shards": 1, "progress": False, "checkpoint_every": 2, "width": 4,
              "dim": 16, "heads": 2, "warmup_steps": 0},
    "controlnet": {"batch_size": 2, "max_steps": 2, "num_workers": 0, "shuffle_buffer": 4,
                   "crop": 64, "progress": False, "checkpoint_every": 2, "validate_every": 0,
                   "cond_embed_channels": 16},
}


def test_recipe_trains_irpad_then_controlnet_and_reuses_a_given_irpad(tiny_sd_dir, cn_build, tmp_path):
    preset = tmp_path / "tiny.yaml"
    preset.write_text(yaml.safe_dump(TINY_PRESET))
    out = tmp_path / "run"
    base_args = ["--shards", str(cn_build), "--base", str(tiny_sd_dir), "--pipeline", str(preset), "--cpu"]
    result = CliRunner().invoke(app, [*base_args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "recipe.json").read_text())
    assert summary["irpad"]["step"] == 2 and summary["controlnet"]["step"] == 2
    assert summary["irpad"]["action"] == summary["controlnet"]["action"] == "ran"
    # the build is captioned: no caption models needed, the alignment is not run
    assert summary["caption"]["action"] == "reused" and summary["encoder"]["action"] == "skipped"
    assert not (out / "encoder").exists()
    assert (out / "irpad" / "irpad.safetensors").is_file()
    assert (out / "controlnet" / "controlnet" / "config.json").is_file()
    saved = json.loads((out / "controlnet" / "config.json").read_text())
    assert saved["crop"] == 64 and saved["shards"] == str(cn_build)  # preset + recipe overrides

    again = tmp_path / "again"
    result = CliRunner().invoke(app, [*base_args, "--out", str(again), "--irpad", str(out / "irpad")])
    assert result.exit_code == 0, result.output
    assert not (again / "irpad").exists()  # IRPAD not retrained
    summary = json.loads((again / "recipe.json").read_text())
    assert summary["irpad"] == {"action": "reused", "path": str(out / "irpad"), "why": "given by --irpad"}
    assert summary["controlnet"]["action"] == "ran"


def test_recipe_checks_everything_before_training(tiny_sd_dir, cn_build, tmp_path):
    preset = tmp_path / "bad.yaml"
    preset.write_text(yaml.safe_dump({**TINY_PRESET, "controlnet": {"crop": 100}}))
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["--shards", str(cn_build), "--base", str(tiny_sd_dir),
                                      "--pipeline", str(preset), "--out", str(out)])
    assert result.exit_code == 2 and "multiple of 32" in result.output
    assert not out.exists()  # IRPAD did not start
    result = CliRunner().invoke(app, ["--shards", str(cn_build), "--base", str(tmp_path / "nope"),
                                      "--out", str(out)])
    assert result.exit_code == 2 and "does not exist" in result.output
    result = CliRunner().invoke(app, ["--shards", str(tmp_path), "--base", str(tiny_sd_dir)])
    assert result.exit_code == 2 and "index.json" in result.output


def test_no_options_prints_help():
    result = CliRunner().invoke(app, [])
    assert result.exit_code == 2 and "--shards" in result.output and "controlnet" in result.output  # as dalpsr-data


def test_a_finished_tower_in_out_is_reused_with_its_path_though_captions_exist(tiny_sd_dir, cn_build, tmp_path):
    # Issue 20 item 17: a rerun recorded the encoder as "skipped" with no path (the build was
    # captioned by the first run), though `dalpsr-sr --vision-tower` needs OUT/encoder/vision_tower.
    from dalpsr_data.caption.llava_io import META_NAME, WEIGHTS_NAME
    from dalpsr_model.recipe import RecipeConfig, plan_recipe

    tower = tmp_path / "run" / "encoder" / "vision_tower"
    tower.mkdir(parents=True)
    (tower / WEIGHTS_NAME).write_bytes(b"")
    (tower / META_NAME).write_text("{}")
    plan = plan_recipe(RecipeConfig(shards=str(cn_build), base=str(tiny_sd_dir), out=str(tmp_path / "run"), cpu=True))
    encoder = next(s for s in plan.stages if s.name == "encoder")
    assert (encoder.action, encoder.path) == ("reuse", str(tower))
