"""Deterministic square patch extraction with the crop box recorded.

The crop position is drawn from the patch's own generator (``rng_for(seed, key, "crop")``),
so it depends only on the build seed and the key, never on worker or order. Images with
a side below the patch size are reflect-padded on the bottom/right as Real-ESRGAN does
(``small_policy="pad"``) or skipped (``"skip"``); images whose short side is below
``min_side`` are always skipped: padding a thumbnail 4x only repeats it.

A photo yields at most as many patches as it has distinct crop positions (a padded photo,
or one of exactly the patch size, has one): patch ``j`` takes its own draw, redrawn from
its own stream while it repeats a position of patches ``0..j-1``, so a large photo's crops
are the ones a single draw gives, and no two HR crops of a photo are the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

# The `patches:` section is read by the build's command line, which must not load numpy.
from dalpsr_data.build.config import PatchConfig  # noqa: F401 - re-exported


@dataclass(frozen=True)
class CropBox:
    """Crop ``[x, y, x + size, y + size)`` of the image after padding it by ``pad_bottom``
    rows and ``pad_right`` columns (reflect-101). ``image_w``/``image_h``: before padding."""

    x: int
    y: int
    size: int
    image_w: int
    image_h: int
    pad_bottom: int
    pad_right: int

    def to_dict(self) -> dict[str, int]:
        return {"x": self.x, "y": self.y, "w": self.size, "h": self.size, "image_w": self.image_w,
                "image_h": self.image_h, "pad_bottom": self.pad_bottom, "pad_right": self.pad_right}


def small_image_reason(w: int, h: int, size: int, cfg: PatchConfig) -> str | None:
    """A skip reason for an image of ``w`` x ``h`` pixels, or None when it can be used."""
    if min(w, h) < cfg.min_side:
        return "too_small"
    if (w < size or h < size) and cfg.small_policy == "skip":
        return "smaller_than_patch"
    return None


def place_crop(w: int, h: int, size: int, rng: np.random.Generator) -> CropBox:
    """Uniform random top-left corner inside the (padded) image; two integer draws."""
    pad_b, pad_r = max(0, size - h), max(0, size - w)
    y = int(rng.integers(0, h + pad_b - size + 1))
    x = int(rng.integers(0, w + pad_r - size + 1))
    return CropBox(x=x, y=y, size=size, image_w=w, image_h=h, pad_bottom=pad_b, pad_right=pad_r)


def crop_positions(w: int, h: int, size: int) -> int:
    """Distinct top-left corners of a ``size`` crop in a ``w`` x ``h`` image padded up to ``size``."""
    return (max(w, size) - size + 1) * (max(h, size) - size + 1)


MAX_REDRAWS = 32  # then the first free position in raster order (only tiny position counts get here)


def place_patch_crop(w: int, h: int, size: int, index: int,
                     rng_of: Callable[[int], np.random.Generator], repeat: bool = False) -> CropBox | None:
    """The crop of patch ``index`` of a photo; None when the photo has no more than ``index``
    distinct positions (and ``repeat`` is off).

    ``rng_of(j)`` is patch ``j``'s own crop generator (seeded by the build seed and its key),
    so the result does not depend on which worker builds which patch. Patch ``j`` redraws
    while its position repeats one of patches ``0..j-1``; with ``repeat`` every patch keeps
    its first draw (the behaviour before distinct crops).
    """
    if repeat:
        return place_crop(w, h, size, rng_of(index))
    n = crop_positions(w, h, size)
    if index >= n:
        return None
    taken: set[tuple[int, int]] = set()
    box = None
    for j in range(index + 1):
        rng = rng_of(j)
        box = place_crop(w, h, size, rng)
        for _ in range(MAX_REDRAWS):
            if (box.x, box.y) not in taken:
                break
            box = place_crop(w, h, size, rng)
        else:
            free_w = max(w, size) - size + 1
            x, y = next((k % free_w, k // free_w) for k in range(n) if (k % free_w, k // free_w) not in taken)
            box = CropBox(x, y, box.size, box.image_w, box.image_h, box.pad_bottom, box.pad_right)
        taken.add((box.x, box.y))
    return box


def extract(rgb: np.ndarray, box: CropBox) -> np.ndarray:
    """uint8 (H, W, 3) -> contiguous uint8 (size, size, 3) at ``box``.

    numpy's "reflect" mode is OpenCV's BORDER_REFLECT_101 and repeats the reflection when
    the pad exceeds the image (needed for images under half the patch size).
    """
    img = rgb
    if box.pad_bottom or box.pad_right:
        img = np.pad(rgb, ((0, box.pad_bottom), (0, box.pad_right), (0, 0)), mode="reflect")
    out = img[box.y:box.y + box.size, box.x:box.x + box.size]
    assert out.shape == (box.size, box.size, 3), out.shape
    return np.ascontiguousarray(out)
