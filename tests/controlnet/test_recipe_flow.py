"""The whole flow in one command on tiny models: `dalpsr-train --shards S --base SD --llava L
--ram-checkpoint R` aligns the tower, captions the build with it, trains IRPAD and the
ControlNet; a rerun reuses every finished stage; without captions or caption models it
fails before any work."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml
from typer.testing import CliRunner

from dalpsr_data import schema
from dalpsr_model.cli.train import app
from tests.caption.tiny_ram import TINY_IMAGE_SIZE
from tests.controlnet.test_cn_recipe import TINY_PRESET
from tests.support.fake_build import write_fake_build

pytestmark = pytest.mark.slow

FLOW_PRESET = {
    **TINY_PRESET,
    # a large lr so that two steps change the tower enough to change the tiny LLaVA's captions
    "encoder": {"batch_size": 4, "max_steps": 2, "num_workers": 0, "shuffle_buffer": 4, "lr": 0.5,
                "progress": False, "checkpoint_every": 2, "warmup_steps": 0, "mixed_precision": "no"},
    "caption": {"ram_image_size": TINY_IMAGE_SIZE, "batch_size": 4, "tag_batch_size": 4, "max_new_tokens": 6},
}


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    from tests.caption.tiny_ram import build_tiny_ram
    from dalpsr_model.models.tiny_llava import build_tiny_llava

    root = tmp_path_factory.mktemp("flow_models")
    return build_tiny_llava(root / "llava"), build_tiny_ram(root / "ram")


def captions_of(build):
    return {url: {k: r["caption"] for k, r in schema.read_caption_sidecar(build, url).items()}
            for url in [e["url"] for e in schema.read_index(build)["shardlist"]]}


def test_whole_flow_then_rerun_reuses_every_stage(tiny_sd_dir, models, tmp_path):
    llava, ram = models
    build = write_fake_build(tmp_path / "shards", [4, 4])  # no captions
    preset = tmp_path / "flow.yaml"
    preset.write_text(yaml.safe_dump(FLOW_PRESET))
    out = tmp_path / "run"
    args = ["--shards", str(build), "--base", str(tiny_sd_dir), "--llava", str(llava),
            "--ram-checkpoint", str(ram), "--pipeline", str(preset), "--cpu", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "recipe.json").read_text())
    assert [summary[s]["action"] for s in ("encoder", "caption", "irpad", "controlnet")] == ["ran"] * 4
    for stage in ("encoder", "caption", "irpad", "controlnet"):  # the table has a row per stage
        assert any(line.split()[:2] == [stage, "ran"] for line in result.output.splitlines()), result.output
    tower = out / "encoder" / "vision_tower"
    assert (tower / "vision_tower.safetensors").is_file() and summary["encoder"]["step"] == 2
    assert summary["encoder"]["last_mse"] > 0 and summary["controlnet"]["last_loss"] > 0
    # every shard captioned beside the build, with the aligned tower
    caption_json = json.loads((build / "captions" / "caption.json").read_text())
    assert caption_json["config"]["vision_tower"] == str(tower)
    assert caption_json["config"]["llava"] == str(llava)
    recipe_captions = captions_of(build)
    assert all(len(c) == 4 and all(c.values()) for c in recipe_captions.values())
    # IRPAD's queries come from the base's CLIP text encoder; the ControlNet is saved
    assert json.loads((out / "irpad" / "irpad.json").read_text())["queries"]["source"] == "clip_text_encoder"
    assert (out / "controlnet" / "controlnet" / "config.json").is_file()

    # The same captions with the unaligned tower differ: the caption stage used the aligned one.
    from dalpsr_data.caption.config import CaptionConfig
    from dalpsr_data.caption.run import run_caption

    plain = tmp_path / "plain"
    shutil.copytree(build, plain, ignore=shutil.ignore_patterns("captions"))
    run_caption(plain, CaptionConfig(llava=str(llava), ram_checkpoint=str(ram), device="cpu",
                                     **FLOW_PRESET["caption"]), executor="local")
    assert captions_of(plain) != recipe_captions

    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file() and p.name != "recipe.json"}
    stamps.update({p: p.stat().st_mtime_ns for p in (build / "captions").iterdir()})
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "recipe.json").read_text())
    # captions exist, but the tower the first run aligned is recorded for dalpsr-sr --vision-tower
    assert summary["encoder"]["action"] == "reused" and summary["encoder"]["path"] == str(tower)
    assert [summary[s]["action"] for s in ("caption", "irpad", "controlnet")] == ["reused"] * 3
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps  # nothing rewritten
    assert not [p for p in out.rglob("*") if p.is_file() and p not in stamps and p.name != "recipe.json"]

    # Only the missing stage runs: the ControlNet's output removed -> only it is trained again.
    shutil.rmtree(out / "controlnet")
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "recipe.json").read_text())
    assert summary["irpad"]["action"] == "reused" and summary["controlnet"]["action"] == "ran"


def test_uncaptioned_build_without_caption_models_fails_before_any_work(tiny_sd_dir, tmp_path, monkeypatch):
    monkeypatch.delenv("DALPSR_LLAVA", raising=False)
    monkeypatch.delenv("DALPSR_RAM_CHECKPOINT", raising=False)
    build = write_fake_build(tmp_path / "shards", [2, 2])
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["--shards", str(build), "--base", str(tiny_sd_dir), "--out", str(out)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "--llava" in lines[0] and "--ram-checkpoint" in lines[0]
    assert "2 of 2 shards" in lines[0]
    assert not out.exists() and not (build / "captions").exists()


def test_a_finished_stage_with_other_settings_is_not_reused(tiny_sd_dir, cn_build, tmp_path):
    preset = tmp_path / "tiny.yaml"
    preset.write_text(yaml.safe_dump(TINY_PRESET))
    out = tmp_path / "run"
    common = ["--shards", str(cn_build), "--base", str(tiny_sd_dir), "--cpu", "--out", str(out)]
    assert CliRunner().invoke(app, [*common, "--pipeline", str(preset)]).exit_code == 0
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump({**TINY_PRESET, "irpad": {**TINY_PRESET["irpad"], "dim": 8}}))
    result = CliRunner().invoke(app, [*common, "--pipeline", str(changed)])
    assert result.exit_code == 2 and "other settings (dim)" in result.output and "--overwrite" in result.output


def test_an_unfinished_later_stage_is_refused_before_the_first_stage_runs(tiny_sd_dir, cn_build, tmp_path):
    preset = tmp_path / "tiny.yaml"
    preset.write_text(yaml.safe_dump(TINY_PRESET))
    out = tmp_path / "run"
    (out / "controlnet" / "checkpoints" / "checkpoint-00000002").mkdir(parents=True)  # interrupted run
    result = CliRunner().invoke(app, ["--shards", str(cn_build), "--base", str(tiny_sd_dir), "--cpu",
                                      "--pipeline", str(preset), "--out", str(out)])
    assert result.exit_code == 2 and "holds a previous run" in result.output and "--resume" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (out / "irpad").exists()  # IRPAD did not start
