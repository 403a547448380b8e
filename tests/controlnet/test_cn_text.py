"""Prompt budgeting: the restoration prompt is never cut; the caption takes what is left."""

from __future__ import annotations

import pytest

from dalpsr_model.diffusion.text import PromptTooLongError, batch_prompt_ids, budget_prompt


@pytest.fixture(scope="module")
def tokenizer(tiny_sd_dir):
    from transformers import CLIPTokenizer

    return CLIPTokenizer.from_pretrained(tiny_sd_dir / "tokenizer", local_files_only=True)


def _content(tok, text):
    return tok(text, add_special_tokens=False)["input_ids"]


def test_restoration_prompt_survives_a_long_caption(tokenizer):
    rp = "heavy blur, medium noise, light jpeg"
    caption = "a red flower in a green garden under a blue sky " * 5  # ~250 tokens here
    out = budget_prompt(tokenizer, rp, caption)
    ids = list(out.ids)
    assert len(ids) == 77 and ids[0] == tokenizer.bos_token_id
    rp_ids = _content(tokenizer, rp)
    assert ids[1:1 + len(rp_ids)] == rp_ids  # whole and first
    sep = _content(tokenizer, ",")
    kept = 75 - len(rp_ids) - len(sep)
    assert ids[1 + len(rp_ids):1 + len(rp_ids) + len(sep)] == sep
    assert ids[1 + len(rp_ids) + len(sep):76] == _content(tokenizer, caption.strip())[:kept]
    assert ids[76] == tokenizer.eos_token_id
    assert out.caption_tokens_dropped == len(_content(tokenizer, caption.strip())) - kept


def test_plain_tokenizer_truncation_would_cut_it(tokenizer):
    # Why budgeting exists: caption first + plain truncation loses the restoration prompt.
    rp, caption = "heavy blur", "a flower " * 20
    rp_ids = _content(tokenizer, rp)

    def contains(ids):
        return any(list(ids[i:i + len(rp_ids)]) == rp_ids for i in range(len(ids)))

    naive = tokenizer(caption + ", " + rp, truncation=True, max_length=77)["input_ids"]
    assert len(naive) == 77 and not contains(naive)
    assert contains(budget_prompt(tokenizer, rp, caption).ids)


def test_short_prompt_and_empty_prompt_match_the_tokenizer(tokenizer):
    short = budget_prompt(tokenizer, "light noise", "a cat")
    expect = tokenizer("light noise, a cat", padding="max_length", max_length=77)["input_ids"]
    assert list(short.ids) == expect and short.caption_tokens_dropped == 0
    empty = budget_prompt(tokenizer, "", "")
    assert list(empty.ids) == tokenizer("", padding="max_length", max_length=77)["input_ids"]
    no_caption = budget_prompt(tokenizer, "light noise", "")
    assert list(no_caption.ids) == tokenizer("light noise", padding="max_length", max_length=77)["input_ids"]


def test_batch_drop_gives_empty_prompt_rows(tokenizer):
    ids = batch_prompt_ids(tokenizer, ["blur", "noise"], ["cap a", "cap b"], [True, False])
    assert ids.shape == (2, 77)
    assert ids[0].tolist() == list(budget_prompt(tokenizer, "", "").ids)
    assert ids[1].tolist() == list(budget_prompt(tokenizer, "noise", "cap b").ids)


def test_restoration_prompt_longer_than_the_window_is_an_error(tokenizer):
    with pytest.raises(PromptTooLongError, match="restoration prompt takes"):
        budget_prompt(tokenizer, "blur " * 40, "")
