"""The typed records that flow through a build: planned patches, built samples, skips.

``PatchSpec`` is what the driver plans (no pixels); a worker turns it into a
``SampleRecord`` (pixels + JSON-ready metadata) or a ``SkipRecord`` (reason, never fatal).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class PatchSpec:
    """One planned patch. ``key`` matches schema.KEY_PATTERN; ``patch_index`` in [0, per_image)."""

    key: str
    source: str
    root: str
    rel_path: str
    file_size: int
    patch_index: int

    def plan_entry(self) -> list[Any]:
        """What the plan hash covers: not ``root`` (moving the data must not change a build)."""
        return [self.key, self.source, self.rel_path, self.file_size, self.patch_index]


@dataclass(frozen=True)
class SampleRecord:
    """A finished triplet. ``hr``: uint8 (512, 512, 3) RGB; ``lr``: uint8 (128, 128, 3) RGB;
    ``deg``/``src``: JSON-ready dicts with type-stable fields; ``prompt``: restoration prompt."""

    key: str
    hr: np.ndarray
    lr: np.ndarray
    deg: dict[str, Any]
    prompt: str
    src: dict[str, Any]
    bins: dict[str, int]


@dataclass(frozen=True)
class SkipRecord:
    """A planned patch that was not built; ``reason`` is a short code counted in report.json."""

    key: str
    source: str
    rel_path: str
    reason: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {"key": self.key, "source": self.source, "path": self.rel_path,
                "reason": self.reason, "detail": self.detail}
