"""Blur filters: correlation of float32 (H, W, C) images with reflect-101 borders.

BasicSR's filter2D pads with F.pad(mode="reflect") (= OpenCV's BORDER_REFLECT_101) and
correlates each channel with the kernel; every path here computes the same sums, the fastest
way cv2 offers for the kernel's shape and the image's size (timings on one core in the
docstrings, from docs/degradation.md's benchmark).
"""

from __future__ import annotations

import cv2
import numpy as np


def separable(img: np.ndarray, kx: np.ndarray, ky: np.ndarray) -> np.ndarray:
    """Correlate float32 ``img`` with the outer product ky kx^T, reflect-101 borders.

    Two cv2.filter2D passes (a 1 x n row, then an n x 1 column): 0.64x the time of
    cv2.sepFilter2D for the USM's 51 taps and 0.86-0.92x for 7-21 taps (512x512x3, one core),
    the same sums to float rounding (~2e-7).
    """
    row = cv2.filter2D(img, -1, np.ascontiguousarray(kx.reshape(1, -1)), borderType=cv2.BORDER_REFLECT_101)
    return cv2.filter2D(row, -1, np.ascontiguousarray(ky.reshape(-1, 1)), borderType=cv2.BORDER_REFLECT_101)


# cv2.filter2D switches to its own DFT above ~121 kernel taps, which costs as much for 13x13 as
# for 21x21 (~11 ms on 512x512x3); a 13x13 kernel (the larger ones go through _filter_dft or,
# on small images, cv2's DFT) runs as column strips of <= 121 taps on the direct path.
_DIRECT_TAPS = 121
_SPLIT_SIZES = (13,)


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


def _dft_size(n: int) -> int:
    """The smallest even size >= n that cv2's DFT factors well (2^a 3^b 5^c): an odd length
    takes cv2's real DFT 1.5-2x longer (405 vs 400)."""
    m = cv2.getOptimalDFTSize(n)
    while m % 2:
        m = cv2.getOptimalDFTSize(m + 1)
    return m


def _dft_is_faster(size: int, hw: tuple[int, int]) -> bool:
    """Measured on one core (512x512x3 down to 128x128x3, sizes 13-21, benchmark in
    docs/degradation.md): our DFT beats the direct strips from 15 taps at every image size, and
    cv2.filter2D's own DFT (19, 21 taps) from 160 pixels up (4.9 vs 8.7 ms at 512)."""
    return size >= 15 and not (size >= 19 and min(hw) < 160)


def _filter_dft(img: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Correlation with a (k, k) float32 kernel by the DFT, reflect-101 borders.

    The image is reflect-padded by k // 2, zero-padded to an even DFT size (no wrap-around
    reaches the kept (H, W) corner), and each channel's real spectrum (CCS) is multiplied by
    the kernel's conjugate spectrum: IDFT(A conj(K))[y, x] = sum_ij k[i, j] a[y + i, x + j].
    """
    size = k.shape[0]
    r = size // 2
    h, w = img.shape[:2]
    img = img.reshape(h, w, -1)
    dh, dw = _dft_size(h + 2 * r), _dft_size(w + 2 * r)
    kpad = np.zeros((dh, dw), np.float32)
    kpad[:size, :size] = k
    kspec = cv2.dft(kpad, nonzeroRows=size)
    out = np.empty_like(img)
    for c in range(img.shape[2]):
        plane = np.zeros((dh, dw), np.float32)
        plane[:h + 2 * r, :w + 2 * r] = cv2.copyMakeBorder(img[..., c], r, r, r, r, cv2.BORDER_REFLECT_101)
        spec = cv2.dft(plane, nonzeroRows=h + 2 * r)
        prod = cv2.mulSpectrums(spec, kspec, 0, conjB=True)
        out[..., c] = cv2.idft(prod, flags=cv2.DFT_REAL_OUTPUT | cv2.DFT_SCALE, nonzeroRows=h)[:h, :w]
    return out


def blur(img: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Correlate each channel with an odd (k, k) kernel, reflect-101 borders (BasicSR filter2D).

    The kernel is used unpadded: BasicSR's zero padding to 21x21 changes nothing but speed.
    Rank-1 kernels (isotropic Gaussians) run as two 1-D passes; others through the DFT where
    that is faster (:func:`_dft_is_faster`), else directly (13 taps as column strips). All
    paths agree within float rounding (< 4e-7 on [0, 1] images).
    """
    if kernel.shape == (1, 1):
        return img
    u, s, vt = np.linalg.svd(kernel)
    if s[1] <= 1e-9 * s[0]:
        ky = (u[:, 0] * s[0]).astype(np.float32)
        kx = vt[0].astype(np.float32)
        return separable(img, kx, ky)
    k = kernel.astype(np.float32)
    if _dft_is_faster(k.shape[0], img.shape[:2]):
        return _filter_dft(img, k)
    if k.shape[0] in _SPLIT_SIZES:
        return _filter_strips(img, k)
    return cv2.filter2D(img, -1, k, borderType=cv2.BORDER_REFLECT_101)
