"""The embedded ``samples`` source: real photographs bundled inside scikit-image's wheel.

The demo and the tests need photographs without a download; scikit-image ships a dozen
in ``skimage/data``. Only the photographs are listed (not the synthetic test charts),
and the package is located without importing it (importing skimage takes seconds).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from dalpsr_data.sources.base import SourceFile, SourceLayoutError, to_source_files

# Photographs only; sizes range from 451x300 (padded) to 1000x872, RGB and grayscale.
SAMPLE_PHOTOS = (
    "astronaut.png", "brick.png", "camera.png", "chelsea.png", "coffee.png", "grass.png",
    "gravel.png", "hubble_deep_field.jpg", "moon.png", "motorcycle_left.png", "rocket.jpg",
)


def samples_root() -> Path:
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        raise SourceLayoutError("source 'samples' needs scikit-image installed (pip install scikit-image)")
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def list_samples() -> list[SourceFile]:
    root = samples_root()
    present = [n for n in SAMPLE_PHOTOS if (root / n).is_file()]
    if not present:
        raise SourceLayoutError(f"source 'samples': none of {SAMPLE_PHOTOS} found in {root}")
    return to_source_files("samples", root, sorted(present))
