"""Fault-injecting model factories for the caption tests (real tiny models underneath).

Factories are plain module-level callables so they pickle into Ray actors; the tests
register this module for pickling by value because ``tests`` is not installed in the
Ray workers' environment.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, Sequence

import torch

from dalpsr_data.caption.interfaces import Models
from dalpsr_data.caption.llava_captioner import build_models


class _Wrapped:
    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[int] = []

    def describe(self) -> dict[str, Any]:
        return self.inner.describe()


class OomAboveCaptioner(_Wrapped):
    """Raises a CUDA-style OOM for batches larger than ``limit`` (simulated memory limit)."""

    def __init__(self, inner: Any, limit: int) -> None:
        super().__init__(inner)
        self.limit = limit

    def caption(self, images: Sequence[Any], instructions: Sequence[str]) -> list[str]:
        self.calls.append(len(images))
        if len(images) > self.limit:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (simulated)")
        return self.inner.caption(images, instructions)


class PoisonCaptioner(_Wrapped):
    """Fails (ValueError) on any batch holding an image whose top-left pixel is ``poison``."""

    def __init__(self, inner: Any, poison: tuple[int, int, int]) -> None:
        super().__init__(inner)
        self.poison = poison

    def caption(self, images: Sequence[Any], instructions: Sequence[str]) -> list[str]:
        if any(im.getpixel((0, 0)) == self.poison for im in images):
            raise ValueError("poisoned image")
        return self.inner.caption(images, instructions)


class KillAfterCaptioner(_Wrapped):
    """Raises KeyboardInterrupt (not caught by the stage) after ``n`` caption calls: a kill."""

    def __init__(self, inner: Any, n: int) -> None:
        super().__init__(inner)
        self.n = n

    def caption(self, images: Sequence[Any], instructions: Sequence[str]) -> list[str]:
        if len(self.calls) >= self.n:
            raise KeyboardInterrupt("simulated kill")
        self.calls.append(len(images))
        return self.inner.caption(images, instructions)


class CrashOnceCaptioner(_Wrapped):
    """Ends its whole process (os._exit) on the first call that manages to delete ``sentinel``."""

    def __init__(self, inner: Any, sentinel: str) -> None:
        super().__init__(inner)
        self.sentinel = Path(sentinel)

    def caption(self, images: Sequence[Any], instructions: Sequence[str]) -> list[str]:
        try:  # unlink is the atomic claim: of two actors racing, exactly one dies
            self.sentinel.unlink()
        except FileNotFoundError:
            return self.inner.caption(images, instructions)
        os._exit(17)


@dataclasses.dataclass(frozen=True)
class WrappingFactory:
    """Picklable ModelFactory: the production models with one captioner wrapper."""

    kind: str
    arg: Any

    def __call__(self, cfg: Any) -> Models:
        models = build_models(cfg)
        wrappers = {"oom": OomAboveCaptioner, "poison": PoisonCaptioner, "kill": KillAfterCaptioner,
                    "crash": CrashOnceCaptioner}
        models.captioner = wrappers[self.kind](models.captioner, self.arg)
        return models
