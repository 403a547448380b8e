"""Text conditioning: restoration prompt + semantic caption within CLIP's 77-token window.

The prompt is assembled at the token level::

    <bos> restoration-prompt-tokens [", " caption-tokens] <eos> <pad> ...   (77 ids)

The restoration prompt goes first and is never cut: the caption gets only the tokens left
after it (tail cut at a token boundary). A restoration prompt that alone overruns the
window is a data error and raises (the paper's prompts take ~10 CLIP tokens). Working on
ids avoids the decode/re-encode drift of cutting a string. An empty prompt (classifier-free
guidance dropout) is ``<bos> <eos> <pad>...``, the same ids the tokenizer gives ``""``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

SEPARATOR = ","


@dataclasses.dataclass(frozen=True)
class PromptIds:
    """77 token ids for one sample and how many caption tokens were dropped to fit."""

    ids: tuple[int, ...]
    caption_tokens_dropped: int


class PromptTooLongError(ValueError):
    """The restoration prompt alone does not fit in the text encoder's window."""


def _content_ids(tokenizer: Any, text: str) -> list[int]:
    # verbose=False: a caption longer than 77 tokens is expected here (it is cut below).
    return list(tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"]) if text else []


def budget_prompt(tokenizer: Any, restoration: str, caption: str = "",
                  max_length: int | None = None) -> PromptIds:
    """Token ids (length ``max_length``, default the tokenizer's 77) for one sample."""
    max_length = int(max_length or tokenizer.model_max_length)
    room = max_length - 2  # <bos> and <eos>
    rp = _content_ids(tokenizer, restoration.strip())
    if len(rp) > room:
        raise PromptTooLongError(
            f"restoration prompt takes {len(rp)} tokens, more than the {room} the text encoder "
            f"allows: {restoration[:80]!r}")
    cap = _content_ids(tokenizer, caption.strip())
    sep = _content_ids(tokenizer, SEPARATOR) if rp and cap else []
    left = room - len(rp) - len(sep)
    kept = cap[:max(left, 0)]
    if not kept:
        sep = []
    body = rp + sep + kept
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    ids = [tokenizer.bos_token_id] + body + [tokenizer.eos_token_id]
    ids += [pad] * (max_length - len(ids))
    return PromptIds(ids=tuple(ids), caption_tokens_dropped=len(cap) - len(kept))


def batch_prompt_ids(tokenizer: Any, restorations: Sequence[str], captions: Sequence[str],
                     drop: Sequence[bool]) -> Any:
    """(B, 77) int64 ids; samples with ``drop`` True get the empty prompt."""
    import torch

    rows = [budget_prompt(tokenizer, "", "") if d else budget_prompt(tokenizer, r, c)
            for r, c, d in zip(restorations, captions, drop)]
    return torch.tensor([r.ids for r in rows], dtype=torch.long)


def encode_ids(text_encoder: Any, ids: Any) -> Any:
    """(B, 77) ids -> (B, 77, D) last hidden state (SD 2.x's text_encoder folder is already
    cut at the penultimate OpenCLIP layer, so the last state is the one SD was trained on)."""
    import torch

    with torch.no_grad():
        return text_encoder(ids.to(text_encoder.device), return_dict=False)[0]


def positive_ids(tokenizer: Any, restoration: str, caption: str, added_prompt: str) -> tuple[int, ...]:
    """77 ids of inference: restoration prompt first (never cut), then the caption, then the
    added prompt while tokens remain (the training's budget; the tail is cut first)."""
    tail = ", ".join(p for p in (caption.strip(), added_prompt.strip()) if p)
    return budget_prompt(tokenizer, restoration, tail).ids


def prompt_embeddings(base: Any, restorations: Sequence[str], captions: Sequence[str], added_prompt: str,
                      negative_prompt: str) -> tuple[Any, Any]:
    """(cond, uncond) (B, 77, D): ``positive_ids`` per image; uncond is the negative prompt."""
    import torch

    ids = [positive_ids(base.tokenizer, r, c, added_prompt) for r, c in zip(restorations, captions)]
    neg = budget_prompt(base.tokenizer, negative_prompt, "").ids
    device = base.text_encoder.device
    cond = encode_ids(base.text_encoder, torch.tensor(ids, dtype=torch.long, device=device))
    uncond = encode_ids(base.text_encoder, torch.tensor([neg], dtype=torch.long, device=device))
    return cond, uncond.expand(len(ids), -1, -1)
