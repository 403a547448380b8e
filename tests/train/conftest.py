"""Fixtures of the trainer tests: tiny fake builds (synthetic images, no degradation)."""

from __future__ import annotations

import pytest

from tests.support.fake_build import write_fake_build


@pytest.fixture(scope="session")
def fake_build(tmp_path_factory):
    """4 shards of 5, 7, 3 and 6 samples (21 in all), captioned."""
    return write_fake_build(tmp_path_factory.mktemp("fake_build"), [5, 7, 3, 6], captions=True)


@pytest.fixture(scope="session")
def even_build(tmp_path_factory):
    """4 shards of 4 samples: 16 samples, divisible by 2 ranks x 2 workers x batch 2."""
    return write_fake_build(tmp_path_factory.mktemp("even_build"), [4, 4, 4, 4])


@pytest.fixture(scope="session")
def tiny_llava_dir(tmp_path_factory):
    from dalpsr_model.models.tiny_llava import build_tiny_llava

    return build_tiny_llava(tmp_path_factory.mktemp("tiny_llava"))


@pytest.fixture(scope="session")
def tiny_sd_text_dir(tmp_path_factory):
    """Only the text_encoder/ and tokenizer/ of the tiny SD layout (IRPAD needs no UNet/VAE)."""
    import torch
    from transformers import CLIPTextConfig, CLIPTextModel

    from dalpsr_model.models.tiny_sd import CROSS_ATTENTION_DIM, MAX_LENGTH, write_tokenizer

    folder = tmp_path_factory.mktemp("tiny_sd_text")
    vocab = write_tokenizer(folder / "tokenizer")
    config = CLIPTextConfig(vocab_size=vocab, hidden_size=CROSS_ATTENTION_DIM, intermediate_size=64,
                            num_hidden_layers=2, num_attention_heads=2, max_position_embeddings=MAX_LENGTH,
                            projection_dim=CROSS_ATTENTION_DIM, bos_token_id=vocab - 2,
                            eos_token_id=vocab - 1, pad_token_id=vocab - 1)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        CLIPTextModel(config).save_pretrained(folder / "text_encoder")
    return folder


@pytest.fixture(scope="session")
def real_build(tmp_path_factory):
    """A real build (degradation pipeline) of the bundled photos: 11 photos x 20 patches,
    one photo per shard (shard_size 20), so holding out shards holds out whole photos.
    repeat_crops: 7 of the photos are 512x512 or smaller (one distinct crop each); their
    20 patches are 20 degradations of that crop, which is what IRPAD learns from."""
    from dalpsr_data.build.config import BuildConfig, PatchConfig
    from dalpsr_data.build.runner import run_build

    out = tmp_path_factory.mktemp("real") / "build"
    run_build(BuildConfig(sources=("samples",), out=str(out), executor="local", workers=1,
                          shard_size=20, seed=7), PatchConfig(per_image=20, repeat_crops=True))
    return out
