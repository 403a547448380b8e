"""Example LR images for the Super-resolve tab: embedded sample photos, degraded as a build does.

Each photo (scikit-image's, the `samples` source) is resized to short side 512, centre
cropped to 512 x 512 and degraded with the paper's second-order degradation, its
parameters drawn from a generator seeded by the photo's name: the same LR every start.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dalpsr_data.decode import decode_file
from dalpsr_data.degradation.config import DegradationConfig
from dalpsr_data.degradation.pipeline import apply
from dalpsr_data.degradation.sampling import sample_params
from dalpsr_data.seeding import rng_for
from dalpsr_data.sources.base import SourceLayoutError
from dalpsr_data.sources.samples import samples_root

EXAMPLE_PHOTOS = ("astronaut.png", "chelsea.png", "coffee.png", "motorcycle_left.png")
EXAMPLE_STREAM = "app-example"


def square_512(rgb: np.ndarray, side: int) -> np.ndarray:
    """(H, W, 3) uint8 -> (side, side, 3): short side resized to ``side`` (Lanczos), centre crop."""
    from PIL import Image

    h, w = rgb.shape[:2]
    scale = side / min(h, w)
    size = (max(side, round(w * scale)), max(side, round(h * scale)))
    im = np.asarray(Image.fromarray(rgb).resize(size, Image.LANCZOS))
    top, left = (im.shape[0] - side) // 2, (im.shape[1] - side) // 2
    return np.ascontiguousarray(im[top:top + side, left:left + side])


def write_examples(folder: Path, seed: int = 0) -> list[Path]:
    """``<photo>_lr.png`` (128 x 128) per example photo found; [] without scikit-image's data."""
    from PIL import Image

    cfg = DegradationConfig()
    try:
        root = samples_root()
    except SourceLayoutError:  # no scikit-image data: no examples
        return []
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in EXAMPLE_PHOTOS:
        if not (root / name).is_file():
            continue
        gt = square_512(decode_file(root / name, 1 << 26).rgb, cfg.patch_size)
        _, lr = apply(gt, sample_params(rng_for(seed, name, EXAMPLE_STREAM), cfg), cfg)
        path = folder / f"{Path(name).stem}_lr.png"
        Image.fromarray(lr).save(path)
        paths.append(path)
    return paths
