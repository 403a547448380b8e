"""RAM runs in fp32 by default, also when LLaVA runs in bf16 on CUDA (issue 12 item 2).

The official inference is fp32 and thresholds sit at 0.65-0.9, where bf16 flips tags.
``RamTagger(cfg, device)`` takes the device apart from the config, so the CUDA defaults
(``--device cuda``: LLaVA in bf16) are exercised here on the CPU.
"""

from __future__ import annotations

import pytest
import torch

from dalpsr_data.caption.config import CaptionConfig
from dalpsr_data.caption.ram_tagger import RamTagger
from tests.caption.reference.make_ram_reference import load_reference, make_images, official_state_dict, write_tag_files

REF = load_reference()


def _checkpoint(folder, name):
    case = REF["cases"][name]
    torch.save({"model": official_state_dict(case["keys"], case["seed"])}, folder / "model.pth")
    write_tag_files(folder)
    return folder / "model.pth", case


def test_cuda_defaults_keep_ram_in_fp32_and_match_the_official_probabilities(tmp_path):
    path, case = _checkpoint(tmp_path, "ram_plus_swinl224")
    cfg = CaptionConfig(ram_checkpoint=str(path), ram_variant="ram_plus", ram_image_size=224)  # device cuda
    assert cfg.torch_dtype_name == "bf16" and cfg.ram_dtype == "fp32"  # LLaVA bf16, RAM fp32
    tagger = RamTagger(cfg, "cpu")
    assert {p.dtype for p in tagger.model.parameters()} == {torch.float32}
    assert tagger.describe()["encoder_dtype"] == "fp32"
    rows = tagger.tag(make_images())
    for r, ref in zip(rows, case["images"]):
        assert [t for t, _ in r] == ref["tags"]
        assert [p for _, p in r] == pytest.approx([ref["probs"][REF["tags"].index(t)] for t, _ in r], abs=1e-5)


def test_ram_dtype_option_sets_the_encoder_precision(tmp_path):
    path, _ = _checkpoint(tmp_path, "ram_swinl224")
    cfg = CaptionConfig(ram_checkpoint=str(path), ram_image_size=224, ram_dtype="bf16")
    tagger = RamTagger(cfg, "cpu")
    assert next(tagger.model.visual_encoder.parameters()).dtype == torch.bfloat16
    assert next(tagger.model.tagging_head.parameters()).dtype == torch.float32  # head stays fp32
    assert tagger.describe()["encoder_dtype"] == "bf16"
    with pytest.raises(ValueError, match="--ram-dtype bf16/fp16 needs --device cuda"):
        CaptionConfig(ram_dtype="bf16", device="cpu")
    with pytest.raises(ValueError, match="ram_dtype"):
        CaptionConfig(ram_dtype="float8")
    # the tags depend on it: a changed RAM precision is not resumed into old captions
    assert CaptionConfig(ram_dtype="bf16").output_hash() != CaptionConfig().output_hash()


def test_caption_cli_has_the_ram_dtype_option():
    from typer.testing import CliRunner

    from dalpsr_data.cli import app

    result = CliRunner().invoke(app, ["caption", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "--ram-dtype" in result.output
    bad = CliRunner().invoke(app, ["caption", "nowhere", "--ram-dtype", "fp8"])
    assert bad.exit_code == 2 and "ram_dtype" in bad.output
