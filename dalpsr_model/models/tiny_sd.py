"""A tiny random Stable Diffusion 2.1-base stack in the diffusers folder layout, built offline.

``build_tiny_sd(folder)`` writes what ``dalpsr_model.diffusion.base.load_base`` (and
``StableDiffusionPipeline.from_pretrained``) read from a local folder::

    model_index.json
    unet/          UNet2DConditionModel: block_out_channels (32, 64), 8 norm groups,
                   cross-attention 32, linear projection (as SD 2.1), 4 latent channels
    vae/           AutoencoderKL: 4 levels (8x downsampling, as SD), channels (8, 16, 16, 16)
    text_encoder/  CLIPTextModel: hidden 32, 2 layers, 2 heads, 77 positions
    tokenizer/     CLIPTokenizer from a byte-level vocab.json + merges.txt written here
    scheduler/     PNDMScheduler config with the SD 2.1-base values (epsilon prediction,
                   scaled_linear betas 0.00085..0.012, 1000 steps)

The tokenizer has one token per byte plus a few merges, so text takes roughly one token
per character: a caption overruns CLIP's 77-token window quickly, which is what the prompt
budgeting tests need. Deterministic for a given ``seed``. Sizes keep a training step on a
32x32 latent well under a second on one CPU thread.
"""

from __future__ import annotations

import json
from pathlib import Path

BOS = "<|startoftext|>"
EOS = "<|endoftext|>"
MAX_LENGTH = 77
CROSS_ATTENTION_DIM = 32
# SD 2.1-base scheduler/scheduler_config.json (public values).
SD21_SCHEDULER = {
    "_class_name": "PNDMScheduler", "beta_start": 0.00085, "beta_end": 0.012,
    "beta_schedule": "scaled_linear", "clip_sample": False, "num_train_timesteps": 1000,
    "prediction_type": "epsilon", "set_alpha_to_one": False, "skip_prk_steps": True,
    "steps_offset": 1, "trained_betas": None,
}
_MERGES = [("t", "h"), ("th", "e</w>"), ("i", "n"), ("e", "r"), ("a", "n"), ("o", "n")]


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP byte -> printable unicode map (every byte gets a visible character)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) \
        + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


def write_tokenizer(folder: Path) -> int:
    """Write vocab.json, merges.txt and the tokenizer configs; returns the vocabulary size."""
    folder.mkdir(parents=True, exist_ok=True)
    chars = list(_bytes_to_unicode().values())
    tokens = chars + [c + "</w>" for c in chars] + ["".join(m) for m in _MERGES] + [BOS, EOS]
    vocab = {t: i for i, t in enumerate(dict.fromkeys(tokens))}
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    merges = "#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in _MERGES)
    (folder / "merges.txt").write_text(merges, encoding="utf-8")
    config = {"tokenizer_class": "CLIPTokenizer", "model_max_length": MAX_LENGTH,
              "bos_token": BOS, "eos_token": EOS, "unk_token": EOS, "pad_token": EOS,
              "do_lower_case": True, "clean_up_tokenization_spaces": True}
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    special = {"bos_token": BOS, "eos_token": EOS, "unk_token": EOS, "pad_token": EOS}
    (folder / "special_tokens_map.json").write_text(json.dumps(special, indent=2), encoding="utf-8")
    return len(vocab)


def tiny_unet_config() -> dict:
    return dict(
        sample_size=32, in_channels=4, out_channels=4, layers_per_block=1,
        block_out_channels=(32, 64), norm_num_groups=8,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=CROSS_ATTENTION_DIM, attention_head_dim=(2, 4),
        use_linear_projection=True)


def tiny_vae_config() -> dict:
    return dict(
        in_channels=3, out_channels=3, latent_channels=4, layers_per_block=1,
        block_out_channels=(8, 16, 16, 16), norm_num_groups=4, sample_size=256,
        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
        scaling_factor=0.18215)


def build_tiny_sd(folder: str | Path, seed: int = 0) -> Path:
    """Write a tiny random SD 2.1-base-layout stack into ``folder``; returns the folder."""
    import torch
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vocab_size = write_tokenizer(folder / "tokenizer")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        UNet2DConditionModel(**tiny_unet_config()).save_pretrained(folder / "unet")
        AutoencoderKL(**tiny_vae_config()).save_pretrained(folder / "vae")
        text_config = CLIPTextConfig(
            vocab_size=vocab_size, hidden_size=CROSS_ATTENTION_DIM, intermediate_size=64,
            num_hidden_layers=2, num_attention_heads=2, max_position_embeddings=MAX_LENGTH,
            hidden_act="gelu", projection_dim=CROSS_ATTENTION_DIM,
            bos_token_id=vocab_size - 2, eos_token_id=vocab_size - 1, pad_token_id=vocab_size - 1)
        CLIPTextModel(text_config).save_pretrained(folder / "text_encoder")
    (folder / "scheduler").mkdir(exist_ok=True)
    (folder / "scheduler" / "scheduler_config.json").write_text(
        json.dumps(SD21_SCHEDULER, indent=2), encoding="utf-8")
    model_index = {
        "_class_name": "StableDiffusionPipeline", "feature_extractor": [None, None],
        "requires_safety_checker": False, "safety_checker": [None, None],
        "scheduler": ["diffusers", "PNDMScheduler"], "text_encoder": ["transformers", "CLIPTextModel"],
        "tokenizer": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "UNet2DConditionModel"],
        "vae": ["diffusers", "AutoencoderKL"],
    }
    (folder / "model_index.json").write_text(json.dumps(model_index, indent=2), encoding="utf-8")
    return folder
