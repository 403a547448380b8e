"""Deterministic square patch extraction with the crop box recorded.

The crop position is drawn from the patch's own generator (``rng_for(seed, key, "crop")``),
so it depends only on the build seed and the key, never on worker or order. Images with
a side below the patch size are reflect-padded on the bottom/right as Real-ESRGAN does
(``small_policy="pad"``) or skipped (``"skip"``); images whose short side is below
``min_side`` are always skipped: padding a thumbnail 4x only repeats it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SMALL_POLICIES = ("pad", "skip")


@dataclass(frozen=True)
class PatchConfig:
    """The ``patches:`` preset section.

    per_image: patches cropped from every source image (each at its own random position).
    small_policy: "pad" (reflect-pad bottom/right up to ``size``) or "skip".
    min_side: images whose shorter side is below this are skipped (pixels).
    max_pixels: decoded images above this many pixels are skipped (bomb guard).
    """

    per_image: int = 4
    small_policy: str = "pad"
    min_side: int = 128
    max_pixels: int = 178_956_970  # Pillow's own error threshold (2 x MAX_IMAGE_PIXELS)

    def __post_init__(self) -> None:
        if self.per_image < 1:
            raise ValueError(f"per_image must be >= 1, got {self.per_image}")
        if self.small_policy not in SMALL_POLICIES:
            raise ValueError(f"small_policy must be one of {SMALL_POLICIES}, got {self.small_policy!r}")
        if self.min_side < 1:
            raise ValueError(f"min_side must be >= 1, got {self.min_side}")
        if self.max_pixels < 1:
            raise ValueError(f"max_pixels must be >= 1, got {self.max_pixels}")


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
