"""LR->HR alignment of a tiny LLaVA's vision tower: loss falls, frozen layers stay, the
saved tower loads into a LLaVA (as the captioner does) with identical weights."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from dalpsr_data.config_io import ConfigError
from dalpsr_model.encoder_align.tower import load_llava_tower
from dalpsr_data.caption.llava_io import find_vision_tower, load_vision_tower
from dalpsr_model.encoder_align.trainer import EncoderConfig, train_encoder
from tests.support.fake_build import write_fake_build


@pytest.fixture(scope="module")
def aligned(fake_build, tiny_llava_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("encoder")
    cfg = EncoderConfig(shards=str(fake_build), llava=str(tiny_llava_dir), out=str(out), batch_size=4,
                        num_workers=0, shuffle_buffer=4, lr=1e-3, warmup_steps=0, max_steps=12,
                        checkpoint_every=6, progress=False)
    return cfg, train_encoder(cfg)


def test_alignment_loss_falls(aligned):
    losses = aligned[1]["result"].losses
    assert len(losses) == 12
    assert sum(losses[-3:]) / 3 < 0.7 * sum(losses[:3]) / 3, losses


def test_layers_after_the_consumed_one_are_frozen(aligned, tiny_llava_dir):
    cfg, out = aligned
    # vision_feature_layer = -2 of 2 layers: layer 1 and the post-layernorm are unused.
    assert out["frozen"] and all(n.startswith(("encoder.layers.1.", "post_layernorm.")) for n in out["frozen"])
    original, _, _ = load_llava_tower(tiny_llava_dir)
    saved = load_file(str(out["tower"] / "vision_tower.safetensors"))
    before = original.state_dict()
    for name in out["frozen"]:
        assert torch.equal(saved[name], before[name]), name
    changed = [n for n in saved if not torch.equal(saved[n], before[n])]
    assert "encoder.layers.0.mlp.fc1.weight" in changed and "embeddings.patch_embedding.weight" in changed


def test_saved_tower_loads_into_llava_with_identical_weights(aligned, tiny_llava_dir):
    from transformers import LlavaForConditionalGeneration

    cfg, out = aligned
    model = LlavaForConditionalGeneration.from_pretrained(tiny_llava_dir, local_files_only=True)
    meta = load_vision_tower(model, out["tower"])
    assert meta["class"] == "CLIPVisionModel"
    saved = load_file(str(out["tower"] / "vision_tower.safetensors"))
    final_ckpt = load_file(str(out["result"].last_checkpoint / "model-vision_tower.safetensors"))
    for name, tensor in find_vision_tower(model).state_dict().items():
        assert torch.equal(tensor, saved[name]) and torch.equal(tensor, final_ckpt[name]), name


def test_missing_llava_is_a_config_error(fake_build, tmp_path):
    with pytest.raises(ConfigError, match="--llava"):
        EncoderConfig(shards=str(fake_build))
    with pytest.raises(ConfigError, match="config.json"):
        train_encoder(EncoderConfig(shards=str(fake_build), llava=str(tmp_path), out=str(tmp_path / "o"),
                                    progress=False))


@pytest.mark.parametrize("sizes", [None, []], ids=["missing", "empty"])
def test_a_missing_or_empty_build_fails_before_llava_loads(tmp_path, tiny_llava_dir, monkeypatch, sizes):
    # Issue 20 item 20: the build was reported only after loading LLaVA (minutes for 7B).
    from dalpsr_model.encoder_align import trainer

    def must_not_load(path):
        raise AssertionError("LLaVA loaded before the build was checked")

    monkeypatch.setattr(trainer, "load_llava_tower", must_not_load)
    shards = tmp_path / "shards"
    if sizes is not None:
        write_fake_build(shards, sizes)
    cfg = EncoderConfig(shards=str(shards), llava=str(tiny_llava_dir), out=str(tmp_path / "o"), progress=False)
    with pytest.raises(ConfigError, match="--shards" if sizes is None else "holds no samples"):
        train_encoder(cfg)
    assert not (tmp_path / "o").exists()  # nothing written either
