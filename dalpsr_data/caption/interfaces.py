"""The two model interfaces the caption stage talks to, and the bundle an actor holds.

Real implementations: ``RamTagger`` (ram_tagger.py) and ``LlavaCaptioner``
(llava_captioner.py). Tests use the same real classes with tiny models; they only wrap
them to inject faults.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Protocol, Sequence

from PIL import Image

TagList = list[tuple[str, float]]  # [(tag, sigmoid probability)] in tag-list order


class Tagger(Protocol):
    def tag(self, images: Sequence[Image.Image]) -> list[TagList]:
        """One tag list per image; independent of how images are batched."""
        ...

    def describe(self) -> dict[str, Any]:
        """Model id, variant, versions: saved in captions/caption.json."""
        ...


class Captioner(Protocol):
    def caption(self, images: Sequence[Image.Image], instructions: Sequence[str]) -> list[str]:
        """One cleaned caption per (image, instruction); greedy, so batch-independent."""
        ...

    def describe(self) -> dict[str, Any]:
        ...


@dataclasses.dataclass
class Models:
    """What one worker loads once and reuses for all its shards (tagger None: no tags)."""

    tagger: Tagger | None
    captioner: Captioner

    def describe(self) -> dict[str, Any]:
        return {"tagger": self.tagger.describe() if self.tagger else None,
                "captioner": self.captioner.describe()}


ModelFactory = Callable[[Any], Models]  # CaptionConfig -> Models; must be picklable for Ray
