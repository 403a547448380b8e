"""Instruction and prompt text for LLaVA, and cleaning of its answers (paper Fig. 4)."""

from __future__ import annotations

from typing import Sequence

from dalpsr_data.caption.config import TAG_CLAUSE

LLAVA_PROMPT = "USER: <image>\n{instruction} ASSISTANT:"  # llava-1.5-hf conversation form


def select_tags(tags: Sequence[tuple[str, float]], max_tags: int) -> list[str]:
    """Tag names for the instruction: all (tag-list order) or the ``max_tags`` most probable.

    Ties in probability keep tag-list order (a stable sort), so the result is deterministic.
    """
    if max_tags <= 0 or len(tags) <= max_tags:
        return [t for t, _ in tags]
    ranked = sorted(range(len(tags)), key=lambda i: -tags[i][1])[:max_tags]
    return [tags[i][0] for i in sorted(ranked)]


def build_instruction(base: str, tags: Sequence[str]) -> str:
    """``"<base> around the following tags: a, b, c."``; without tags just ``"<base>."``."""
    text = base.rstrip().rstrip(".")
    if tags:
        text += TAG_CLAUSE.format(tags=", ".join(tags))
    return text + "."


def llava_prompt(instruction: str) -> str:
    return LLAVA_PROMPT.format(instruction=instruction)


def clean_answer(text: str) -> str:
    """Strip and fold every run of whitespace (newlines included) into one space."""
    return " ".join(text.split())
