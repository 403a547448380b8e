"""Resizing with ``torch.nn.functional.interpolate`` semantics, on numpy, separably.

Real-ESRGAN resizes with F.interpolate (align_corners=False, no antialias). cv2.resize cannot
reproduce it exactly: stage 1 passes ``scale_factor``, so torch maps output pixel i to source
coordinate (i + 0.5) / s - 0.5 while the output size is floor(n * s), and torch's "area" mode is
adaptive average pooling over whole-pixel bins. We therefore build, per axis, a small table of
source indices and weights (``taps``) exactly as torch does, and apply it as a sparse matrix
to rows.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np
from scipy import sparse

_A = -0.75  # torch's (and OpenCV's) bicubic coefficient


def _cubic(t: np.ndarray) -> np.ndarray:
    """The 4 bicubic weights for fractional offsets t, shape (n, 4)."""
    def c1(x):  # |x| <= 1
        return ((_A + 2) * x - (_A + 3)) * x * x + 1

    def c2(x):  # 1 < |x| < 2
        return ((_A * x - 5 * _A) * x + 8 * _A) * x - 4 * _A

    return np.stack([c2(t + 1), c1(t), c1(1 - t), c2(2 - t)], axis=1)


@lru_cache(maxsize=2048)
def taps(n_in: int, n_out: int, mode: str, scale: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Per-axis resampling table: (index int64 (n_out, k), weight float32 (n_out, k)).

    ``scale`` > 0 is the user scale factor (torch then uses 1/scale for coordinates);
    0 means "size given", i.e. coordinates use n_in / n_out.
    """
    i = np.arange(n_out, dtype=np.float64)
    if mode == "area":
        start = np.floor(i * n_in / n_out).astype(np.int64)
        end = np.ceil((i + 1) * n_in / n_out).astype(np.int64)
        k = int((end - start).max())
        idx = start[:, None] + np.arange(k)[None, :]
        w = (idx < end[:, None]) / (end - start)[:, None].astype(np.float64)
        idx = np.minimum(idx, n_in - 1)
        return idx, w.astype(np.float32)
    ratio = (1.0 / scale) if scale > 0 else n_in / n_out
    # torch computes coordinates in float32 for float32 images
    src = (np.float32(ratio) * (i.astype(np.float32) + np.float32(0.5)) - np.float32(0.5)).astype(np.float64)
    if mode == "bilinear":
        src = np.maximum(src, 0.0)
        i0 = np.floor(src).astype(np.int64)
        lam = src - i0
        i1 = np.where(i0 < n_in - 1, i0 + 1, i0)
        idx = np.stack([i0, i1], axis=1)
        w = np.stack([1 - lam, lam], axis=1)
        return np.minimum(idx, n_in - 1), w.astype(np.float32)
    if mode == "bicubic":
        i0 = np.floor(src).astype(np.int64)
        t = src - i0
        idx = np.clip(i0[:, None] + np.arange(-1, 3)[None, :], 0, n_in - 1)
        return idx, _cubic(t).astype(np.float32)
    raise ValueError(f"unknown resize mode {mode!r}")


@lru_cache(maxsize=2048)
def _tap_matrix(n_in: int, n_out: int, mode: str, scale: float) -> sparse.csr_matrix:
    """The taps as a sparse (n_out, n_in) float32 matrix: row i holds output i's weights."""
    idx, w = taps(n_in, n_out, mode, scale)
    k = idx.shape[1]
    return sparse.csr_matrix((w.ravel(), idx.ravel(), np.arange(0, n_out * k + 1, k)), shape=(n_out, n_in))


def _apply_axis0(img: np.ndarray, m: sparse.csr_matrix) -> np.ndarray:
    """Resample axis 0: each output row is a weighted sum of whole input rows (one sparse
    product, no temporaries; the same sums in the same order as gathering rows tap by tap)."""
    return (m @ img.reshape(img.shape[0], -1)).reshape(m.shape[0], *img.shape[1:])


def resize(img: np.ndarray, out_hw: tuple[int, int], mode: str, scale: float = 0.0) -> np.ndarray:
    """Resize float32 (H, W, C) to (out_h, out_w, C) like F.interpolate(mode, align_corners=False).

    ``scale`` > 0 reproduces F.interpolate(scale_factor=scale) coordinates (out_hw must then be
    floor((H, W) * scale)); 0 reproduces F.interpolate(size=out_hw). Both axes run as row
    passes, with cv2.transpose in between (8x faster than numpy's transposed copy).
    """
    h, w = img.shape[:2]
    oh, ow = out_hw
    if (h, w) == (oh, ow) and (scale == 0.0 or scale == 1.0):
        return img.copy()  # every mode is the identity at equal size and unit scale
    tmp = cv2.transpose(_apply_axis0(img, _tap_matrix(h, oh, mode, scale)))
    out = cv2.transpose(_apply_axis0(tmp.reshape(w, oh, *img.shape[2:]), _tap_matrix(w, ow, mode, scale)))
    return out.reshape(oh, ow, *img.shape[2:])  # cv2 drops a trailing channel axis of 1


@lru_cache(maxsize=65536)
def noise_gain(n_in: int, n_out: int, mode: str, scale: float = 0.0) -> float:
    """Std gain of white noise through this 2-D resize: (rms over outputs of the tap weights' L2 norm)^2."""
    if n_in == n_out and scale in (0.0, 1.0):
        return 1.0
    _, w = taps(n_in, n_out, mode, scale)
    g1 = float(np.sqrt(np.mean(np.sum(w.astype(np.float64) ** 2, axis=1))))
    return g1 * g1
