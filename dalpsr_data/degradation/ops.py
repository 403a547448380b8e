"""The image operations of the pipeline, on float32 (H, W, 3) RGB arrays in [0, 1].

Each op is BasicSR's formula on cv2/numpy: the USM's Gaussian is a separable correlation with
reflect-101 borders (filters.py, as BasicSR's filter2D, which pads with F.pad(mode="reflect"));
JPEG goes through libjpeg via cv2 on BGR bytes (BasicSR reads images with cv2, so its CPU
path hands BGR to the encoder, and libjpeg's colour transform depends on the order).
Randomness comes only from the seed recorded in the params.
"""

from __future__ import annotations

import functools
import math

import cv2
import numpy as np
from scipy import special

from dalpsr_data.degradation.filters import separable
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

    img: uint8 (H, W, 3) or float32 in [0, 1]. Returns float32 (H, W, 3) in [0, 1]:
    sharp = clip(img + weight * (img - G*img)); out = img + (G*mask) * (sharp - img), with G a
    ksize x ksize Gaussian (separable, reflect-101 borders as BasicSR's filter2D) and mask
    1.0 where |img - G*img| > threshold/255, per value (BasicSR's mask is per channel too).
    """
    g = cv2.getGaussianKernel(ksize, sigma, cv2.CV_32F)
    if img.dtype == np.uint8:
        img = to_float(img)
    residual = cv2.subtract(img, separable(img, g, g))
    t = float(np.float32(threshold / 255.0))
    mask = cv2.threshold(np.abs(residual), t, 1.0, cv2.THRESH_BINARY)[1]
    soft = separable(mask, g, g)
    sharp = cv2.scaleAdd(residual, weight, img)
    np.clip(sharp, 0.0, 1.0, out=sharp)
    cv2.subtract(sharp, img, dst=sharp)
    return cv2.accumulateProduct(soft, sharp, img)  # img + soft * (sharp - img), in place


def _levels(q: np.ndarray) -> float:
    """2^ceil(log2(number of unique values)) of a uint8 image (BasicSR's Poisson level count).

    cv2.calcHist: half the time of np.bincount, which first widens every byte to int64."""
    n = int(np.count_nonzero(cv2.calcHist([q.reshape(-1, 1)], [0], None, [256], [0, 256])))
    return float(2 ** math.ceil(math.log2(max(n, 1))))


# Normal draws by table: 16 random bits pick one of 65536 equiprobable N(0, 1) quantiles (the
# midpoints (i + 0.5)/65536), 4x faster than numpy's ziggurat. Tails end at |z| = 4.32
# (probability 1.5e-5 beyond), variance 0.99998; docs/degradation.md gives the measured effect.
_NORMAL_TABLE = special.ndtri((np.arange(65536) + 0.5) / 65536).astype(np.float32)


def _random_bits(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """uint16 array of ``shape`` from ``rng``'s bytes (little-endian: the same on every platform)."""
    return np.frombuffer(rng.bytes(2 * int(np.prod(shape))), dtype="<u2").reshape(shape)


def standard_normal(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """float32 array of ``shape``, N(0, 1) to 16-bit quantile resolution, from ``rng``'s bytes."""
    return np.take(_NORMAL_TABLE, _random_bits(rng, shape))


# Poisson counts, from the same 16 bits per value: below this mean count, the bits index the
# count's own quantile table (exact to 16-bit resolution, like the normal table); above, a
# rounded normal with the Cornish-Fisher skew term (mean, variance and third moment of
# Poisson(lam)). docs/degradation.md gives the measured effect of both. EXACT_POISSON (for
# benchmarks/fidelity.py) draws every count with numpy's exact sampler instead.
POISSON_TABLE_BELOW = 16.0
EXACT_POISSON = False


@functools.lru_cache(maxsize=2)
def _small_count_tables(rate: float) -> np.ndarray:
    """uint8 (Q, 65536): row q holds the midpoint quantiles (i + 0.5)/65536 of Poisson(q * rate),
    lam = float32(q) * float32(rate) as the caller computes it, for every q < 256 with
    lam < POISSON_TABLE_BELOW (16 rows, 1 MB, at BasicSR's usual 256 levels)."""
    lam = np.arange(256, dtype=np.float32) * np.float32(rate)
    lam = lam[lam < np.float32(POISSON_TABLE_BELOW)].astype(np.float64)
    cdf = special.pdtr(np.arange(64)[None, :], lam[:, None])  # P(K <= k); k >= 64 has p < 1e-17
    u = (np.arange(65536) + 0.5) / 65536
    return np.stack([np.searchsorted(row, u, side="left") for row in cdf]).astype(np.uint8)


def count_means(q: np.ndarray, rate: float) -> np.ndarray:
    """lam = float32(q) * float32(rate): the mean count of each value, float32 like q's shape."""
    lam = q.astype(np.float32)
    lam *= np.float32(rate)
    return lam


def poisson_counts(rng: np.random.Generator, q: np.ndarray, rate: float,
                   lam: np.ndarray | None = None) -> np.ndarray:
    """Poisson(lam) counts as float32 with lam = :func:`count_means` (q, rate); q uint8 of any
    shape (``lam``: that array, when the caller has it already; it is not modified).

    Each value takes 16 random bits b. lam < POISSON_TABLE_BELOW: the b-th midpoint quantile
    of Poisson(lam) (tails beyond probability 1.5e-5 cut); above: rint(lam + sqrt(lam) z +
    (z^2 - 1)/6) with z the b-th normal quantile (total variation from Poisson below 0.01).
    """
    lam = count_means(q, rate) if lam is None else lam
    if EXACT_POISSON:
        return rng.poisson(lam.astype(np.float64)).astype(np.float32)
    bits = _random_bits(rng, q.shape)
    z = np.take(_NORMAL_TABLE, bits)
    k = np.sqrt(lam)
    k *= z
    k += lam
    z *= z
    z -= np.float32(1.0)
    z *= np.float32(1.0 / 6.0)
    k += z
    np.rint(k, out=k)
    np.maximum(k, np.float32(0.0), out=k)
    tables = _small_count_tables(float(rate))
    small = np.flatnonzero(q.reshape(-1) < len(tables))
    if small.size:
        rows = q.reshape(-1)[small].astype(np.intp)
        rows <<= 16
        rows += bits.reshape(-1)[small]
        k.reshape(-1)[small] = np.take(tables.reshape(-1), rows)
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
    lam = count_means(q, vals / 255.0)
    k = poisson_counts(rng, q, vals / 255.0, lam)
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
