"""Swin key layout: official (downsample at a stage's end) vs timm's, told apart by the
project and not by timm's checkpoint filter (issue 12 item 3).

timm releases before 1.0.31 (checked in scratch venvs: 0.9.0, 0.9.16, 1.0.29, 1.0.30)
decide in ``checkpoint_filter_fn`` by the classifier head, which RAM lacks, and shift a
timm-layout file (convert-ram's output) a second time. The old heuristic is injected here
so the test fails on any code that still relies on timm's filter, whatever timm is installed.
"""

from __future__ import annotations

import re

import pytest
import timm.models.swin_transformer as timm_swin
import torch
from typer.testing import CliRunner

from dalpsr_data.caption.ram import load_ram, preprocess_images
from dalpsr_data.caption.ram.checkpoint import _to_timm_swin
from dalpsr_data.cli import app
from tests.caption.reference.make_ram_reference import make_images
from tests.caption.tiny_ram import TINY_IMAGE_SIZE, TINY_TAGS, build_tiny_ram


def _old_timm_filter(state_dict, model):
    """timm < 1.0.31: no 'head.fc.weight' means the original Swin layout."""
    old_weights = "head.fc.weight" not in state_dict
    out = {}
    for k, v in state_dict.items():
        if any(n in k for n in ("relative_position_index", "attn_mask")):
            continue
        if old_weights:
            k = re.sub(r"layers.(\d+).downsample", lambda x: f"layers.{int(x.group(1)) + 1}.downsample", k)
            k = k.replace("head.", "head.fc.")
        out[k] = v
    return out


def test_layouts_are_told_apart_by_stage_zero():
    official = {"visual_encoder.layers.0.downsample.reduction.weight": torch.zeros(1),
                "visual_encoder.layers.2.downsample.norm.bias": torch.ones(1), "fc.weight": torch.zeros(2)}
    mapped = _to_timm_swin(official)
    assert sorted(mapped) == ["fc.weight", "visual_encoder.layers.1.downsample.reduction.weight",
                              "visual_encoder.layers.3.downsample.norm.bias"]
    assert _to_timm_swin(mapped) == mapped  # a timm-layout (headless) state is left alone


@pytest.mark.parametrize("variant", ["ram", "ram_plus"])
def test_convert_ram_output_loads_with_an_old_timm_filter(tmp_path, monkeypatch, variant):
    monkeypatch.setattr(timm_swin, "checkpoint_filter_fn", _old_timm_filter)
    path = build_tiny_ram(tmp_path, variant)
    out = tmp_path / "conv.safetensors"
    result = CliRunner().invoke(app, ["convert-ram", str(path), str(out), "--variant", variant,
                                      "--image-size", str(TINY_IMAGE_SIZE)])
    assert result.exit_code == 0, result.output
    a, _ = load_ram(path, variant, len(TINY_TAGS), TINY_IMAGE_SIZE)
    b, _ = load_ram(out, variant, len(TINY_TAGS), TINY_IMAGE_SIZE)
    x = preprocess_images(make_images()[:2], TINY_IMAGE_SIZE)
    with torch.no_grad():
        assert torch.equal(a(x), b(x))
