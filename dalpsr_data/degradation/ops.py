"""The image operations of the pipeline, on float32 (H, W, 3) RGB arrays in [0, 1].

Each op is BasicSR's formula on cv2/numpy: filtering is correlation with reflect-101 borders
(BasicSR's filter2D pads with F.pad(mode="reflect")); the USM uses a separable Gaussian;
JPEG goes through libjpeg via cv2 on BGR bytes (BasicSR reads images with cv2, so its CPU
path hands BGR to the encoder, and libjpeg's colour transform depends on the order).
Randomness comes only from the seed recorded in the params.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from scipy import special

from dalpsr_data.degradation.params import NoiseParams

# torchvision's rgb_to_grayscale weights (BasicSR's gray Poisson noise)
_GRAY = np.array([0.2989, 0.587, 0.114], dtype=np.float32)


def to_float(img_u8: np.ndarray) -> np.ndarray:
    """uint8 (H, W, 3) -> float32 in [0, 1] (one pass: the cast happens inside the multiply)."""
    return np.multiply(img_u8, np.float32(1.0 / 255.0), dtype=np.float32)


def to_uint8(img: np.ndarray) -> np.ndarray:
    """float32 [0, 1] -> uint8 by clamp and round-half-even (torch.round / cv2 convertTo).

    cv2.convertScaleAbs saturates at 255 and rounds like np.rint; the max() makes the abs() a
    clamp at 0. Same bytes as np.rint(np.clip(img, 0, 1) * 255), 15x faster.
    """
    return cv2.convertScaleAbs(cv2.max(img, 0.0), alpha=255.0)


def usm_sharpen(img: np.ndarray, ksize: int = 51, sigma: float = 8.0, weight: float = 0.5,
                threshold: float = 10.0) -> np.ndarray:
    """BasicSR USMSharp: sharpen where |img - blur| > threshold/255, blended by a blurred mask.

    img: uint8 (H, W, 3) (the fast path: the blur reads bytes) or float32 in [0, 1].
    Returns float32 (H, W, 3) in [0, 1]:
    sharp = clip(img + weight * (img - G*img)); out = img + (G*mask) * (sharp - img), with G a
    ksize x ksize Gaussian (separable, reflect-101 borders as BasicSR's filter2D).
    """
    g = cv2.getGaussianKernel(ksize, sigma, cv2.CV_32F)
    g255 = g * np.float32(1.0 / 255.0)
    if img.dtype == np.uint8:  # fold the 1/255 into the kernel: same sums, a quarter of the reads
        blurred = cv2.sepFilter2D(img, cv2.CV_32F, g255, g, borderType=cv2.BORDER_REFLECT_101)
        img = to_float(img)
    else:
        blurred = cv2.sepFilter2D(img, -1, g, g, borderType=cv2.BORDER_REFLECT_101)
    h = img.shape[0]
    residual = cv2.subtract(img, blurred)
    # |residual| <= t, per value (inRange on one channel of H x 3W), inverted: 255 where |r| > t
    t = float(np.float32(threshold / 255.0))
    mask = cv2.bitwise_not(cv2.inRange(residual.reshape(h, -1), -t, t)).reshape(img.shape)
    soft = cv2.sepFilter2D(mask, cv2.CV_32F, g255, g, borderType=cv2.BORDER_REFLECT_101)
    sharp = cv2.scaleAdd(residual, weight, img)
    np.clip(sharp, 0.0, 1.0, out=sharp)
    cv2.subtract(sharp, img, dst=sharp)
    return cv2.accumulateProduct(soft, sharp, img)  # img + soft * (sharp - img), in place


# cv2.filter2D switches to a DFT above ~121 kernel taps, which costs as much for 13x13 as for
# 21x21 (~11 ms on 512x512x3); column strips of <= 121 taps stay on the direct path.
_DIRECT_TAPS = 121
_SPLIT_SIZES = (13, 15, 17)  # measured: 19 and 21 are faster through the DFT


def _filter_strips(img: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Correlation with a (k, k) kernel as a sum of direct filters over column strips of it."""
    size = k.shape[0]
    r = size // 2
    h, w = img.shape[:2]
    padded = cv2.copyMakeBorder(img, r, r, r, r, cv2.BORDER_REFLECT_101)
    step = _DIRECT_TAPS // size
    out = None
    for c0 in range(0, size, step):
        strip = np.ascontiguousarray(k[:, c0:c0 + step])
        # anchor (0, 0): f[y, x] = sum_ij strip[i, j] * padded[y + i, x + j]; the crop below
        # never reads a border pixel that cv2 would have to invent
        f = cv2.filter2D(padded, -1, strip, anchor=(0, 0), borderType=cv2.BORDER_REFLECT_101)
        part = f[:h, c0:c0 + w]
        out = part.copy() if out is None else cv2.add(out, part)
    return out


def blur(img: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Correlate each channel with an odd (k, k) kernel, reflect-101 borders (BasicSR filter2D).

    The kernel is used unpadded: BasicSR's zero padding to 21x21 changes nothing but speed.
    Rank-1 kernels (isotropic Gaussians) run as two 1-D passes; 13..17-tap kernels as direct
    column strips. All paths agree within float rounding (~1e-7).
    """
    if kernel.shape == (1, 1):
        return img
    u, s, vt = np.linalg.svd(kernel)
    if s[1] <= 1e-9 * s[0]:
        ky = (u[:, 0] * s[0]).astype(np.float32)
        kx = vt[0].astype(np.float32)
        return cv2.sepFilter2D(img, -1, kx, ky, borderType=cv2.BORDER_REFLECT_101)
    k = kernel.astype(np.float32)
    if k.shape[0] in _SPLIT_SIZES:
        return _filter_strips(img, k)
    return cv2.filter2D(img, -1, k, borderType=cv2.BORDER_REFLECT_101)


def _levels(q: np.ndarray) -> float:
    """2^ceil(log2(number of unique values)) of a uint8 image (BasicSR's Poisson level count).

    cv2.calcHist: half the time of np.bincount, which first widens every byte to int64."""
    n = int(np.count_nonzero(cv2.calcHist([q.reshape(-1, 1)], [0], None, [256], [0, 256])))
    return float(2 ** math.ceil(math.log2(max(n, 1))))


# Normal draws by table: 16 random bits pick one of 65536 equiprobable N(0, 1) quantiles (the
# midpoints (i + 0.5)/65536), 4x faster than numpy's ziggurat. Tails end at |z| = 4.32
# (probability 1.5e-5 beyond), variance 0.99998; docs/degradation.md gives the measured effect.
_NORMAL_TABLE = special.ndtri((np.arange(65536) + 0.5) / 65536).astype(np.float32)


def standard_normal(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """float32 array of ``shape``, N(0, 1) to 16-bit quantile resolution, from ``rng``'s bytes
    (little-endian: the same values on every platform)."""
    n = int(np.prod(shape))
    bits = np.frombuffer(rng.bytes(2 * n), dtype="<u2")
    return np.take(_NORMAL_TABLE, bits).reshape(shape)


# Below this mean count the Poisson draw is numpy's exact sampler; above, a rounded normal
# with the Cornish-Fisher skew term (mean, variance and third moment of Poisson(lam)), about
# 3x faster per value. docs/degradation.md gives its measured effect.
POISSON_EXACT_BELOW = 16.0


def poisson_counts(rng: np.random.Generator, lam: np.ndarray) -> np.ndarray:
    """Poisson(lam) counts as float32, lam float32 >= 0 of any shape.

    lam >= POISSON_EXACT_BELOW: rint(lam + sqrt(lam) z + (z^2 - 1)/6), z from :func:`standard_normal`
    (total variation from Poisson below 0.01 there); smaller lam: numpy's exact sampler.
    """
    z = standard_normal(rng, lam.shape)
    k = np.sqrt(lam)
    k *= z
    k += lam
    z *= z
    z -= np.float32(1.0)
    z *= np.float32(1.0 / 6.0)
    k += z
    np.rint(k, out=k)
    np.maximum(k, np.float32(0.0), out=k)
    small = np.flatnonzero(lam < np.float32(POISSON_EXACT_BELOW))
    if small.size:
        flat = k.reshape(-1)
        flat[small] = rng.poisson(lam.reshape(-1)[small].astype(np.float64))
    return k


def noise_field(img: np.ndarray, p: NoiseParams) -> np.ndarray:
    """The additive noise of one stage (BasicSR's generate_*_noise_pt), float32 like ``img``.

    Gaussian: sigma/255 * N(0, 1), (H, W, 1) when gray. Poisson: (Poisson(x v)/v - x) * scale
    with x the image rounded to 8 bits (gray: torchvision's grayscale of it) and v the level
    count of x, as BasicSR; counts from :func:`poisson_counts`.
    """
    rng = np.random.Generator(np.random.PCG64(p.seed))
    h, w, c = img.shape
    if p.kind == "gaussian":
        shape = (h, w, 1) if p.gray else (h, w, c)
        z = standard_normal(rng, shape)
        z *= np.float32(p.sigma / 255.0)
        return z
    if p.kind != "poisson":
        raise ValueError(f"unknown noise kind {p.kind!r}")
    src = (img @ _GRAY)[..., None] if p.gray else img
    q = to_uint8(src)  # count levels on the image rounded to 8 bits, as BasicSR does
    vals = _levels(q)
    lam = q.astype(np.float32)
    lam *= np.float32(vals / 255.0)
    k = poisson_counts(rng, lam)
    k -= lam  # (k/v - x) * scale = (k - x v) * scale / v
    k *= np.float32(p.poisson_scale / vals)
    return k.reshape(src.shape)


def add_noise(img: np.ndarray, p: NoiseParams) -> np.ndarray:
    """img + noise, clamped to [0, 1] (BasicSR: clip=True, rounds=False)."""
    n = noise_field(img, p)
    out = cv2.add(img, n) if n.shape == img.shape else img + n  # gray noise broadcasts
    return np.clip(out, 0.0, 1.0, out=out)


def jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    """libjpeg round trip at ``quality`` (BasicSR add_jpg_compression), on BGR bytes."""
    bgr = cv2.cvtColor(to_uint8(img), cv2.COLOR_RGB2BGR)  # 10x faster than a reversed-axis copy
    ok, buf = cv2.imencode(".jpg", bgr, [int(cv2.IMWRITE_JPEG_QUALITY), int(quality)])
    if not ok:
        raise RuntimeError("cv2.imencode failed for JPEG")
    return to_float(cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB))
