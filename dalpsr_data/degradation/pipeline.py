"""``apply(gt, params, cfg)``: the second-order degradation of one 512 patch, deterministically.

Order (Real-ESRGAN ``feed_data``): USM(GT) -> [blur1 -> resize1 -> noise1 -> clamp -> JPEG1]
-> [blur2 (p) -> resize2 -> noise2] -> final: {resize to LR + sinc, clamp, JPEG2} or
{clamp, JPEG2, resize to LR + sinc} -> clamp and round to 8 bits.
Stage 1 resizes by a scale factor of the current image (F.interpolate(scale_factor=s));
stage 2 resizes to int(lr_size * s) (F.interpolate(size=...)).
"""

from __future__ import annotations

import math
import time
from typing import Callable, MutableMapping

import cv2
import numpy as np

from dalpsr_data.degradation import filters, ops
from dalpsr_data.degradation.config import DegradationConfig
from dalpsr_data.degradation.kernels import make_kernel
from dalpsr_data.degradation.params import DegradationParams, FinalParams, StageParams
from dalpsr_data.degradation.resize import resize


def stage1_size(n: int, scale: float) -> int:
    """Side after stage 1: floor(n * scale), as torch computes it for scale_factor."""
    return int(math.floor(float(n) * scale))


def stage2_size(cfg: DegradationConfig, scale: float) -> int:
    """Side after stage 2: int(patch / scale * s) (BasicSR: int(ori_h / sf * s))."""
    return int(cfg.patch_size / cfg.scale * scale)


Timings = MutableMapping[str, float]
# The clock of ``timings``; benchmarks on a shared machine set time.process_time (CPU seconds).
CLOCK: Callable[[], float] = time.perf_counter


def _timed(timings: Timings | None, name: str, fn: Callable, *args):
    """fn(*args); when ``timings`` is given, add the seconds spent to timings[name] (benchmark)."""
    if timings is None:
        return fn(*args)
    t0 = CLOCK()
    out = fn(*args)
    timings[name] = timings.get(name, 0.0) + CLOCK() - t0
    return out


def run_stage(img: np.ndarray, sp: StageParams, out_side: int, coord_scale: float,
              timings: Timings | None = None) -> np.ndarray:
    """blur (if applied) -> resize -> noise + clamp. Same function for both stages."""
    if sp.blur_applied:
        img = _timed(timings, "blur", filters.blur, img, make_kernel(sp.kernel))
    img = _timed(timings, "resize", resize, img, (out_side, out_side), sp.resize.mode, coord_scale)
    return _timed(timings, "noise", ops.add_noise, img, sp.noise)


def _final(img: np.ndarray, fp: FinalParams, quality: int, lr: int, timings: Timings | None) -> np.ndarray:
    def resize_sinc(x: np.ndarray) -> np.ndarray:
        x = _timed(timings, "resize", resize, x, (lr, lr), fp.mode)
        return _timed(timings, "blur", filters.blur, x, make_kernel(fp.sinc)) if fp.sinc_applied else x

    def jpeg(x: np.ndarray) -> np.ndarray:
        return _timed(timings, "jpeg", ops.jpeg, np.clip(x, 0.0, 1.0), quality)

    return jpeg(resize_sinc(img)) if fp.resize_first else resize_sinc(jpeg(img))


def apply(gt: np.ndarray, params: DegradationParams, cfg: DegradationConfig,
          timings: Timings | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Degrade one patch.

    gt: uint8 (P, P, 3) RGB, P = cfg.patch_size. Returns (hr, lr): hr uint8 (P, P, 3) RGB (the
    USM-sharpened GT if cfg.save_usm_hr, else ``gt``), lr uint8 (P/scale, P/scale, 3) RGB.
    Pure and byte-deterministic; runs cv2 single-threaded. ``timings`` (optional) accumulates
    seconds per op kind (usm, blur, resize, noise, jpeg) for benchmarks.
    """
    p = cfg.patch_size
    if gt.dtype != np.uint8 or gt.shape != (p, p, 3):
        raise ValueError(f"apply expects uint8 ({p}, {p}, 3) RGB, got {gt.dtype} {gt.shape}")
    cv2.setNumThreads(1)
    usm = _timed(timings, "usm", ops.usm_sharpen, gt, cfg.usm_kernel_size, cfg.usm_sigma,
                 cfg.usm_weight, cfg.usm_threshold)
    s1, s2 = params.stage1, params.stage2
    out = run_stage(usm, s1, stage1_size(p, s1.resize.scale), s1.resize.scale, timings)
    out = _timed(timings, "jpeg", ops.jpeg, out, s1.jpeg_quality)  # add_noise already clamped
    out = run_stage(out, s2, stage2_size(cfg, s2.resize.scale), 0.0, timings)
    out = _final(out, params.final, s2.jpeg_quality, cfg.lr_size, timings)
    lr = ops.to_uint8(out)
    hr = ops.to_uint8(usm) if cfg.save_usm_hr else gt
    return hr, lr
