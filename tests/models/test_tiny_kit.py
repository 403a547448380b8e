"""`dalpsr-models tiny`: the kit's layout, determinism, refusal of a foreign folder, and that
each model loads through the toolkit's own loaders and behaves as the reference says."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from dalpsr_data.atomic import file_sha256
from dalpsr_data.caption.ram import decode_tags, load_ram, preprocess_images, read_tag_files
from dalpsr_model.models.kit import kit_paths, write_tiny_kit
from tests.caption.reference.make_ram_reference import load_reference, make_images

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "tests" / "caption" / "reference"


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "dalpsr_model.cli.models", *args], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=300)


def _hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): file_sha256(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_cli_writes_the_same_bytes_as_the_library_and_another_seed_differs(kit, tmp_path):
    res = _cli("tiny", str(tmp_path / "again"))
    assert res.returncode == 0, res.stderr
    assert _hashes(tmp_path / "again") == _hashes(kit)
    assert _cli("tiny", str(tmp_path / "again")).returncode == 0  # a previous kit is replaced
    assert _hashes(tmp_path / "again") == _hashes(kit)
    other = _hashes(write_tiny_kit(tmp_path / "seed1", seed=1))
    assert other.keys() == _hashes(kit).keys()
    assert other["sd21-base/unet/diffusion_pytorch_model.safetensors"] != \
        _hashes(kit)["sd21-base/unet/diffusion_pytorch_model.safetensors"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_a_foreign_non_empty_folder_is_refused_untouched(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    res = _cli("tiny", str(tmp_path / "mine"))
    assert res.returncode == 2 and "not empty" in res.stderr and str(tmp_path / "mine") in res.stderr
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["notes.txt"]


def test_layout_and_readme(kit):
    paths = kit_paths(kit)
    for part in ("unet", "vae", "text_encoder", "tokenizer", "scheduler"):
        assert (paths["base"] / part).is_dir()
    assert (paths["llava"] / "config.json").is_file() and (paths["llava"] / "model.safetensors").is_file()
    assert paths["ram"].name == "ram_swin_large_14m.pth"
    thresholds = (paths["ram"].parent / "ram_tag_list_threshold.txt").read_text().split()
    assert "1.0" in thresholds  # switched-off tags, as in the released file
    assert "random weights" in (kit / "README.txt").read_text()


def test_sd_scheduler_is_the_sd21_base_one(kit):
    """Values of stabilityai/stable-diffusion-2-1-base scheduler/scheduler_config.json."""
    cfg = json.loads((kit_paths(kit)["base"] / "scheduler" / "scheduler_config.json").read_text())
    assert cfg["_class_name"] == "PNDMScheduler" and cfg["prediction_type"] == "epsilon"
    assert (cfg["beta_start"], cfg["beta_end"], cfg["beta_schedule"]) == (0.00085, 0.012, "scaled_linear")
    assert (cfg["num_train_timesteps"], cfg["steps_offset"], cfg["skip_prk_steps"]) == (1000, 1, True)


def test_llava_renders_the_real_llava15_chat_template(kit):
    from transformers import AutoProcessor

    reference = json.loads((REFERENCE / "llava15_chat_template.json").read_text())["chat_template"]
    processor = AutoProcessor.from_pretrained(kit_paths(kit)["llava"], local_files_only=True)
    assert processor.chat_template == reference


def test_ram_tags_equal_the_official_code_on_the_kit_checkpoint(kit):
    """The kit's RAM is the 384 px reference case: the official inference's tags (recorded in
    ram_reference.json) come out of the toolkit's loader at `dalpsr-data caption`'s defaults."""
    case = load_reference()["cases"]["ram_swinl384"]
    ram = kit_paths(kit)["ram"]
    tags, thresholds = read_tag_files(ram.parent / "ram_tag_list.txt", ram.parent / "ram_tag_list_threshold.txt")
    model, _ = load_ram(ram, "ram", len(tags))  # image size: the caption default, 384
    with torch.no_grad():
        logits = model(preprocess_images(make_images(), 384))
    assert [[t for t, _ in row] for row in decode_tags(logits, tags, thresholds)] == \
        [row["tags"] for row in case["images"]]
