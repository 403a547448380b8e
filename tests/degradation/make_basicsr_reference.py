"""Write ``basicsr_reference.json`` (beside this file) with BasicSR's own functions.

The degradation tests compare the project's kernels, resize, blur and unsharp mask with the
numbers in that file. They come from BasicSR (Real-ESRGAN's training-data code, which the
paper's data follows), run on the fixed inputs written out below:

- ``sinc_center_row`` / ``generalized_center_row``: the middle row of
  ``basicsr.data.degradations.circular_lowpass_kernel(1.3, 11, pad_to=0)`` and of
  ``bivariate_generalized_Gaussian(11, 2.1, 0.9, -1.1, 0.7, isotropic=False)``;
- ``filter_row8``: ``basicsr.utils.img_process_util.filter2D`` of the 16 x 16 sine image with
  ``bivariate_plateau(9, 1.7, 0.6, 0.8, 1.4, isotropic=False)`` zero-padded to 21 x 21 (as
  ``RealESRGANDataset`` pads every kernel), row 8, channel 0;
- ``filter_dft_rows``: the same ``filter2D`` of the 176 x 200 wave (``wave(176, 200)``, the
  16 x 16 sine's formula on a larger grid) with ``bivariate_plateau(19, 2.0, 0.8, 0.5, 1.3)``
  padded to 21 x 21, rows 0 and 90, channel 0 (a size the project filters through the DFT);
- ``usm_row20``: ``USMSharp()`` (radius 50, weight 0.5, threshold 10) of the 64 x 64 square
  wave, row 20, channel 0;
- ``scale*/size7_*``: ``torch.nn.functional.interpolate`` as ``RealESRGANModel.feed_data``
  calls it (``scale_factor=`` or ``size=``, default ``align_corners``), the slices the tests
  read.

Kernels are rounded to 1e-12; image values are the float32 results, exactly.

Made with BasicSR 1.4.2 (the ``basicsr-fixed`` 1.4.2 package: 1.4.2 with the
``torchvision.transforms.functional_tensor`` import of later torchvision fixed, as in BasicSR
commit 8d56e3a), torch 2.14.1 CPU, numpy 2.4.6, opencv 5.1.0, in a scratch venv that sees the
project venv's packages; no BasicSR code is copied into this repository::

    python3 -m venv /tmp/bsrvenv
    echo "$(.venv/bin/python -c 'import site; print(site.getsitepackages()[0])')" \\
        > "$(/tmp/bsrvenv/bin/python -c 'import site; print(site.getsitepackages()[0])')/project.pth"
    /tmp/bsrvenv/bin/pip install --no-deps --no-build-isolation basicsr-fixed==1.4.2 addict yapf lmdb future
    /tmp/bsrvenv/bin/python tests/degradation/make_basicsr_reference.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

REFERENCE_JSON = Path(__file__).with_name("basicsr_reference.json")
KERNEL_DIGITS = 12


def wave(h: int, w: int) -> np.ndarray:
    """(h, w) float32: 0.5 + 0.45 sin(0.9x + 0.3y) cos(0.5y)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return (0.5 + 0.45 * np.sin(0.9 * xx + 0.3 * yy) * np.cos(0.5 * yy)).astype(np.float32)


def sine16() -> np.ndarray:
    """(16, 16) float32: :func:`wave` (16, 16)."""
    return wave(16, 16)


def square64() -> np.ndarray:
    """(64, 64) float32: clip(0.5 + 0.4 sign(sin(0.2x)) cos(0.07y), 0, 1)."""
    yy, xx = np.mgrid[0:64, 0:64].astype(np.float32)
    return np.clip(0.5 + 0.4 * np.sign(np.sin(0.2 * xx)) * np.cos(0.07 * yy), 0, 1).astype(np.float32)


def as_batch(gray: np.ndarray) -> torch.Tensor:
    """(H, W) -> (1, 3, H, W) float32, the same plane in each channel."""
    return torch.from_numpy(np.repeat(gray[None, None], 3, axis=1).copy())


def floats(t: torch.Tensor) -> list:
    return t.float().numpy().astype(np.float64).tolist()


def main() -> None:
    from basicsr.data.degradations import (bivariate_generalized_Gaussian, bivariate_plateau,
                                           circular_lowpass_kernel)
    from basicsr.utils.img_process_util import USMSharp, filter2D

    out: dict = {"resize_input": "img = 0.5 + 0.45*sin(0.9x + 0.3y)*cos(0.5y), 16x16, float32"}
    img = as_batch(sine16())
    for mode in ("area", "bilinear", "bicubic"):
        out[f"scale0.6_{mode}"] = floats(F.interpolate(img, scale_factor=0.6, mode=mode)[0, 1])
        out[f"scale1.3_{mode}"] = floats(F.interpolate(img, scale_factor=1.3, mode=mode)[0, 2, 5, :])
        out[f"size7_{mode}"] = floats(F.interpolate(img, size=7, mode=mode)[0, 0])
    kernel = bivariate_plateau(9, 1.7, 0.6, 0.8, 1.4, isotropic=False)
    kernel = np.pad(kernel, ((6, 6), (6, 6)))
    out["filter_kernel"] = "bivariate_plateau(9, 1.7, 0.6, 0.8, 1.4, isotropic=False) padded to 21"
    out["filter_row8"] = floats(filter2D(img, torch.from_numpy(kernel).float()[None])[0, 0, 8])
    big = np.pad(bivariate_plateau(19, 2.0, 0.8, 0.5, 1.3, isotropic=False), ((1, 1), (1, 1)))
    big_out = filter2D(as_batch(wave(176, 200)), torch.from_numpy(big).float()[None])
    out["filter_dft_kernel"] = "bivariate_plateau(19, 2.0, 0.8, 0.5, 1.3, isotropic=False) padded to 21"
    out["filter_dft_rows"] = [floats(big_out[0, 0, 0]), floats(big_out[0, 0, 90])]
    out["usm_input"] = "u = clip(0.5 + 0.4*sign(sin(0.2x))*cos(0.07y)), 64x64, float32, same in 3 channels"
    out["usm_row20"] = floats(USMSharp()(as_batch(square64()))[0, 0, 20])
    sinc = circular_lowpass_kernel(1.3, 11, pad_to=0)
    out["sinc_center_row"] = [round(float(v), KERNEL_DIGITS) for v in sinc[5]]
    gen = bivariate_generalized_Gaussian(11, 2.1, 0.9, -1.1, 0.7, isotropic=False)
    out["generalized_center_row"] = [round(float(v), KERNEL_DIGITS) for v in gen[5]]
    REFERENCE_JSON.write_text(json.dumps(out) + "\n", encoding="utf-8")
    print(f"wrote {REFERENCE_JSON}")


if __name__ == "__main__":
    main()
