"""The LLaVA prompt equals what the real llava-hf/llava-1.5-7b-hf chat template renders
(issue 12 item 4).

``reference/llava15_chat_template.json`` is the model repository's ``chat_template.json``
(the version with the ``{% generation %}`` tag, llava-hf/llava-1.5-7b-hf PR #29; the same
string is reproduced verbatim by public copies of the repository and by
openvinotoolkit/openvino.genai's tokenizer, which keys its llava-1.5 fallback on it). It is
rendered here by transformers' own ``apply_chat_template`` on the tiny LLaVA's processor,
with a conversation built as the model card does (one user turn: text + image).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dalpsr_data.caption.config import CaptionConfig
from dalpsr_data.caption.instruction import build_instruction, llava_prompt
from dalpsr_data.caption.llava_captioner import LlavaCaptioner

TEMPLATE = json.loads((Path(__file__).parent / "reference" / "llava15_chat_template.json")
                      .read_text(encoding="utf-8"))["chat_template"]
INSTRUCTIONS = [
    build_instruction("Describe this image and its style in a very detailed manner", ["flower", "lotus", "water"]),
    build_instruction("Describe this image and its style in a very detailed manner", []),
    "Tags: café, naïve art; \"quoted\" {braces} and a\nnewline.",
]


def _render(processor, instruction: str) -> str:
    conversation = [{"role": "user", "content": [{"type": "text", "text": instruction}, {"type": "image"}]}]
    return processor.apply_chat_template(conversation, chat_template=TEMPLATE, add_generation_prompt=True,
                                         tokenize=False)


@pytest.fixture(scope="module")
def processor(tiny_llava_dir):
    from transformers import AutoProcessor

    return AutoProcessor.from_pretrained(tiny_llava_dir, local_files_only=True)


def test_stored_template_is_the_llava15_one():
    assert "{% generation %}" in TEMPLATE and TEMPLATE.endswith("{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}")


@pytest.mark.parametrize("instruction", INSTRUCTIONS)
def test_prompt_equals_the_rendered_chat_template(processor, instruction):
    assert llava_prompt(instruction) == _render(processor, instruction)


class _Spy:
    """Wraps the captioner's processor and records the prompts it is given."""

    def __init__(self, inner):
        self.inner, self.texts = inner, []

    def __call__(self, *args, text=None, **kwargs):
        self.texts.extend(text)
        return self.inner(*args, text=text, **kwargs)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_captioner_feeds_the_rendered_prompts(tiny_llava_dir, processor):
    captioner = LlavaCaptioner(CaptionConfig(llava=str(tiny_llava_dir), device="cpu", max_new_tokens=2), "cpu")
    spy = _Spy(captioner.processor)
    captioner.processor = spy
    images = [Image.fromarray(np.full((32, 32, 3), 40 * i, dtype=np.uint8)) for i in range(len(INSTRUCTIONS))]
    captioner.caption(images, INSTRUCTIONS)
    assert spy.texts == [_render(processor, s) for s in INSTRUCTIONS]
