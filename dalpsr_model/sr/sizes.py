"""Processing sizes of one LR image (SeeSR's test-script rules, scale 4).

1. An LR whose short side is under ``min_side`` (128 = 512 / 4) is first resized (bicubic)
   so that its short side is ``min_side``; the other side is ``int(ratio * side)``.
2. The diffusion target is 4x that, each side rounded down to a multiple of 8 (the VAE's
   cell), so the latent is target / 8.
3. The SR is resized back to exactly 4x the original LR size at the end.

A 100x75 LR: short side 75 -> 170x128, target 680x512 (latent 85x64), final 400x300.
"""

from __future__ import annotations

from dataclasses import dataclass

SCALE = 4
MIN_LR_SIDE = 128   # SeeSR: process_size 512 // upscale 4
VAE_CELL = 8


@dataclass(frozen=True)
class SizePlan:
    """All sizes are (width, height) in px.

    ``lr``: the LR as read; ``lr_work``: after the short-side rule (== lr when not resized);
    ``target``: what the VAE encodes/decodes (multiple of 8); ``final``: the saved SR (4x lr).
    """

    lr: tuple[int, int]
    lr_work: tuple[int, int]
    target: tuple[int, int]
    final: tuple[int, int]

    @property
    def latent(self) -> tuple[int, int]:
        """(width, height) of the latent: target / 8."""
        return self.target[0] // VAE_CELL, self.target[1] // VAE_CELL

    @property
    def group(self) -> tuple[int, int, int, int]:
        """Images with equal ``group`` can share a batch: the same LR size as read (the
        pipeline stacks the LRs and resizes the SR back to 4x them), hence the same plan."""
        return (*self.lr, *self.lr_work, *self.target)


def plan_size(width: int, height: int, scale: int = SCALE, min_side: int = MIN_LR_SIDE) -> SizePlan:
    """Size plan of a ``width`` x ``height`` LR; raises ValueError for an empty image."""
    if width < 1 or height < 1:
        raise ValueError(f"empty image {width}x{height}")
    lr_work = (width, height)
    if min(width, height) < min_side:
        ratio = min_side / min(width, height)
        # int() as SeeSR does (PIL resize to (int(scale*w), int(scale*h))); the short side
        # lands exactly on min_side because ratio * short == min_side.
        lr_work = (max(int(ratio * width), min_side), max(int(ratio * height), min_side))
    target = (lr_work[0] * scale // VAE_CELL * VAE_CELL, lr_work[1] * scale // VAE_CELL * VAE_CELL)
    return SizePlan(lr=(width, height), lr_work=lr_work, target=target,
                    final=(width * scale, height * scale))
