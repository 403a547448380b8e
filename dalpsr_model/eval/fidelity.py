"""PSNR and SSIM on the Y channel with BasicSR's definition; no weights, no pyiqa.

BasicSR (``basicsr/metrics/psnr_ssim.py``, ``test_y_channel=True``):

- Y (ITU-R BT.601, studio range) from RGB in [0, 1], not rounded:
  ``Y = 16 + 65.481 R + 128.553 G + 24.966 B``, so Y is in [16, 235];
- ``crop_border`` pixels are removed on every side before anything else;
- PSNR = 10 log10(255² / MSE) on the Y planes (inf for identical images);
- SSIM with an 11×11 Gaussian window (σ = 1.5), C1 = (0.01·255)², C2 = (0.03·255)²,
  averaged over the 'valid' positions only (the window never leaves the image).

pyiqa's ``ssim`` differs slightly: it rounds Y to integers at data range 255 and clamps the
contrast-structure term at 0; its ``psnr`` with ``test_y_channel=True, color_space='ycbcr'``
is this PSNR up to float32 rounding. ``ssim_y(..., variant="pyiqa")`` reproduces pyiqa's.
"""

from __future__ import annotations

import cv2
import numpy as np

from dalpsr_model.eval.config import SSIM_VARIANTS

Y_WEIGHTS = np.array([65.481, 128.553, 24.966])  # R, G, B on [0, 1] -> Y on the 0..255 scale
SSIM_WINDOW = 11
SSIM_SIGMA = 1.5


def rgb_to_y(img: np.ndarray) -> np.ndarray:
    """RGB uint8 (H, W, 3) -> Y float64 (H, W) in [16, 235], unrounded."""
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"expected an RGB image (H, W, 3), got shape {img.shape}")
    rgb = img.astype(np.float64) / 255.0
    return 16.0 + rgb @ Y_WEIGHTS


def _crop(img: np.ndarray, border: int) -> np.ndarray:
    if border < 0:
        raise ValueError(f"crop_border must be >= 0, got {border}")
    if border == 0:
        return img
    if min(img.shape[:2]) <= 2 * border:
        raise ValueError(f"image of {img.shape[1]}x{img.shape[0]} is too small for crop_border {border}")
    return img[border:-border, border:-border]


def _check_pair(sr: np.ndarray, hr: np.ndarray) -> None:
    if sr.shape != hr.shape:
        raise ValueError(f"SR is {sr.shape[1]}x{sr.shape[0]} but HR is {hr.shape[1]}x{hr.shape[0]}")


def psnr_y(sr: np.ndarray, hr: np.ndarray, crop_border: int = 0) -> float:
    """PSNR in dB of two RGB uint8 images (H, W, 3) on Y; ``inf`` when they are equal."""
    _check_pair(sr, hr)
    a, b = rgb_to_y(_crop(sr, crop_border)), rgb_to_y(_crop(hr, crop_border))
    mse = float(np.mean((a - b) ** 2))
    if mse == 0.0:
        return float("inf")
    return float(10.0 * np.log10(255.0 ** 2 / mse))


def _gaussian_window() -> np.ndarray:
    """11x11 float64 window, outer product of the normalised 1-D Gaussian (σ = 1.5)."""
    x = np.arange(SSIM_WINDOW, dtype=np.float64) - SSIM_WINDOW // 2
    g = np.exp(-(x ** 2) / (2 * SSIM_SIGMA ** 2))
    g /= g.sum()
    return np.outer(g, g)


def _filter_valid(img: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Correlate with ``window`` and keep only positions where it lies inside the image."""
    r = SSIM_WINDOW // 2
    # The border mode is irrelevant: every position it affects is cut off below.
    return cv2.filter2D(img, cv2.CV_64F, window, borderType=cv2.BORDER_REFLECT)[r:-r, r:-r]


def ssim_plane(a: np.ndarray, b: np.ndarray, clamp_cs: bool = False) -> float:
    """Mean SSIM of two float64 planes (H, W) on the 0..255 scale; H, W >= 11.

    ``clamp_cs`` sets negative contrast-structure terms to 0 (pyiqa's variant).
    """
    if min(a.shape) < SSIM_WINDOW:
        raise ValueError(f"SSIM needs at least {SSIM_WINDOW}x{SSIM_WINDOW} pixels, got {a.shape[1]}x{a.shape[0]}")
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    w = _gaussian_window()
    mu_a, mu_b = _filter_valid(a, w), _filter_valid(b, w)
    var_a = _filter_valid(a * a, w) - mu_a ** 2
    var_b = _filter_valid(b * b, w) - mu_b ** 2
    cov = _filter_valid(a * b, w) - mu_a * mu_b
    cs = (2 * cov + c2) / (var_a + var_b + c2)
    if clamp_cs:
        cs = np.maximum(cs, 0.0)
    return float(np.mean((2 * mu_a * mu_b + c1) / (mu_a ** 2 + mu_b ** 2 + c1) * cs))


def ssim_y(sr: np.ndarray, hr: np.ndarray, crop_border: int = 0, variant: str = "basicsr") -> float:
    """SSIM of two RGB uint8 images (H, W, 3) on Y, in [-1, 1].

    ``variant="pyiqa"`` reproduces pyiqa's ``ssim`` (Y rounded to integers, negative
    contrast-structure terms clamped to 0), which the published tables of SeeSR/OSEDiff use.
    """
    if variant not in SSIM_VARIANTS:
        raise ValueError(f"SSIM variant must be one of {SSIM_VARIANTS}, got {variant!r}")
    _check_pair(sr, hr)
    a, b = rgb_to_y(_crop(sr, crop_border)), rgb_to_y(_crop(hr, crop_border))
    if variant == "pyiqa":
        return ssim_plane(np.round(a), np.round(b), clamp_cs=True)
    return ssim_plane(a, b)
