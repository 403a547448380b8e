"""A tiny random LLaVA in the llava-hf folder layout, built offline at test time.

``build_tiny_llava(folder)`` writes what ``LlavaForConditionalGeneration.from_pretrained``
and ``AutoProcessor.from_pretrained`` read from a local folder (config, safetensors
weights, tokenizer files, image-processor and processor configs, the chat template), so
tests and the tiny kit exercise the production loading path without a download. The tokenizer is a byte-level BPE trained
in memory on a few sentences; ``<image>`` is a special token and padding is on the left
(batched generation needs prompts right-aligned).

Sizes: CLIP vision tower 32x32 images, patch 8 (16 patches + CLS), hidden 32, 2 layers;
Llama with hidden 32, 2 layers, vocabulary ~300. Everything runs in fp32 on a CPU in
well under a second per generate call.
"""

from __future__ import annotations

from pathlib import Path

IMAGE_TOKEN = "<image>"
PAD_TOKEN = "<pad>"
BOS_TOKEN = "<s>"
EOS_TOKEN = "</s>"
IMAGE_SIZE = 32
PATCH_SIZE = 8
# Larger than the usual 0.02 so that random weights give captions that depend on the
# image and the instruction (near-constant outputs would make batch tests vacuous).
INIT_STD = 0.3

# chat_template.json of llava-hf/llava-1.5-7b-hf (the version with the {% generation %} tag,
# the model repository's PR #29); tests/caption/reference/llava15_chat_template.json keeps the
# same string as the tests' independent copy.
CHAT_TEMPLATE = (
    "{% for message in messages %}{% if message['role'] != 'system' %}{{ message['role'].upper() + ': '}}"
    "{% endif %}{# Render all images first #}{% for content in message['content'] | selectattr('type', "
    "'equalto', 'image') %}{{ '<image>\\n' }}{% endfor %}{# Render all text next #}{% if message['role'] != "
    "'assistant' %}{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}"
    "{{ content['text'] + ' '}}{% endfor %}{% else %}{% for content in message['content'] | selectattr('type', "
    "'equalto', 'text') %}{% generation %}{{ content['text'] + ' '}}{% endgeneration %}{% endfor %}{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}")

_CORPUS = [
    "USER: <image>\nDescribe this image and its style in a very detailed manner. ASSISTANT:",
    "around the following tags: bloom, flower, lotus, water, leaf, pink, pond",
    "A photo of a red flower in a green garden with a blue sky and white clouds.",
    "The image shows a street with cars, buildings, people, trees and a dog.",
    "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789 ,.;:!?'\"-()",
]


def _train_tokenizer():
    """A byte-level BPE tokenizer wrapped for transformers, special tokens first."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300, min_frequency=1, show_progress=False,
        special_tokens=[PAD_TOKEN, BOS_TOKEN, EOS_TOKEN, IMAGE_TOKEN],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(_CORPUS, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=BOS_TOKEN, eos_token=EOS_TOKEN, pad_token=PAD_TOKEN,
        padding_side="left", extra_special_tokens={"image_token": IMAGE_TOKEN})
    return fast


def build_tiny_llava(folder: str | Path, seed: int = 0) -> Path:
    """Write a tiny random LLaVA (model + processor) into ``folder``; returns the folder.

    Deterministic for a given ``seed`` (torch.manual_seed around the random init).
    The folder can be passed wherever a llava-1.5-7b-hf folder is expected.
    """
    import torch
    from transformers import (CLIPImageProcessor, CLIPVisionConfig, LlamaConfig, LlavaConfig,
                              LlavaForConditionalGeneration, LlavaProcessor)

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = _train_tokenizer()
    image_token_id = tokenizer.convert_tokens_to_ids(IMAGE_TOKEN)
    vision = CLIPVisionConfig(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
        image_size=IMAGE_SIZE, patch_size=PATCH_SIZE, projection_dim=32,
        initializer_range=INIT_STD)
    text = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=256,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, initializer_range=INIT_STD)
    num_patches = (IMAGE_SIZE // PATCH_SIZE) ** 2
    config = LlavaConfig(
        vision_config=vision, text_config=text, image_token_index=image_token_id,
        image_seq_length=num_patches, vision_feature_select_strategy="default",
        vision_feature_layer=-2)
    config.pad_token_id = tokenizer.pad_token_id
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LlavaForConditionalGeneration(config).eval()
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.bos_token_id = tokenizer.bos_token_id
    model.save_pretrained(folder)

    image_processor = CLIPImageProcessor(
        size={"shortest_edge": IMAGE_SIZE}, crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE})
    processor = LlavaProcessor(
        image_processor=image_processor, tokenizer=tokenizer, patch_size=PATCH_SIZE,
        vision_feature_select_strategy="default", num_additional_image_tokens=1,
        chat_template=CHAT_TEMPLATE)
    processor.save_pretrained(folder)
    return folder
