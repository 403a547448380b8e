"""IRPAD's queries (Sec. III.B.2, "embeddings of degradation prompts act as queries"): from the
base's CLIP text encoder when a base is given or the preset asks for it, learned otherwise;
irpad.json records which."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from dalpsr_data.config_io import ConfigError, load_config
from dalpsr_model.cli.train import app
from dalpsr_model.irpad.io import load_irpad
from dalpsr_model.irpad.prompts import degradation_prompts
from dalpsr_model.irpad.trainer import IrpadConfig, train_irpad

SMALL = dict(width=4, dim=16, heads=2, batch_size=4, num_workers=0, shuffle_buffer=4,
             warmup_steps=0, progress=False, holdout_shards=1, max_steps=1, tta=False)


def clip_pooled_reference(base) -> torch.Tensor:
    """The final-layer-norm hidden state at each prompt's end-of-text token, computed here
    from the text encoder's hidden states (not through its pooler)."""
    from transformers import CLIPTextModel, CLIPTokenizer

    tok = CLIPTokenizer.from_pretrained(base / "tokenizer")
    enc = CLIPTextModel.from_pretrained(base / "text_encoder").eval()
    ids = tok(degradation_prompts(), padding="max_length", max_length=77, truncation=True,
              return_tensors="pt").input_ids
    with torch.no_grad():
        hidden = enc(input_ids=ids).last_hidden_state                        # (12, 77, width)
    eot = (ids == tok.eos_token_id).int().argmax(dim=1)                      # first end-of-text
    return hidden[torch.arange(len(ids)), eot]


@pytest.mark.parametrize("queries,source", [("auto", "clip_text_encoder"), ("clip", "clip_text_encoder"),
                                            ("learned", "learned")])
def test_irpad_json_records_the_query_source(fake_build, tiny_sd_text_dir, tmp_path, queries, source):
    out = tmp_path / queries
    train_irpad(IrpadConfig(shards=str(fake_build), out=str(out), base_model=str(tiny_sd_text_dir),
                            queries=queries, **SMALL))
    meta = json.loads((out / "irpad.json").read_text())
    assert meta["queries"]["source"] == source
    state = load_file(str(out / "irpad.safetensors"))
    if source == "learned":
        assert "queries" in state and "prompt_embeddings" not in state and meta["arch"]["text_dim"] == 0
    else:
        assert meta["queries"]["base_model"] == str(tiny_sd_text_dir)
        assert torch.allclose(state["prompt_embeddings"], clip_pooled_reference(tiny_sd_text_dir), atol=1e-5)
        assert "queries" not in state
    load_irpad(out)  # loads without the text encoder


def test_no_base_means_learned_queries(fake_build, tmp_path):
    train_irpad(IrpadConfig(shards=str(fake_build), out=str(tmp_path / "x"), **SMALL))
    assert json.loads((tmp_path / "x" / "irpad.json").read_text())["queries"] == {"source": "learned"}


def test_paper_preset_takes_clip_queries_when_a_base_is_given():
    from dalpsr_model.irpad.trainer import query_source

    paper = load_config(IrpadConfig, "paper", "irpad", {"shards": "x"})
    assert paper.queries == "auto" and query_source(paper) == {"source": "learned"}
    with_base = load_config(IrpadConfig, "paper", "irpad", {"shards": "x", "base_model": "sd"})
    assert query_source(with_base) == {"source": "clip_text_encoder", "base_model": "sd"}
    with pytest.raises(ConfigError, match="--base-model"):
        load_config(IrpadConfig, "paper", "irpad", {"shards": "x", "queries": "clip"})


def test_cli_refuses_clip_queries_without_a_base(fake_build, tmp_path):
    res = CliRunner().invoke(app, ["irpad", "--shards", str(fake_build), "--out", str(tmp_path / "x"),
                                   "--queries", "clip"])
    assert res.exit_code == 2 and "--queries clip needs --base-model" in res.output
    assert len(res.output.strip().splitlines()) == 1 and not (tmp_path / "x").exists()
    res = CliRunner().invoke(app, ["irpad", "--shards", str(fake_build), "--queries", "text"])
    assert res.exit_code == 2 and "--queries must be auto, clip or learned" in res.output
