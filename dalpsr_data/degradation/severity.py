"""Physical severities, at the LR resolution, computed analytically from the params (no image).

blur  (LR pixels): each blur's Gaussian-equivalent sigma, scaled to LR pixels, in quadrature.
      Kernels use their half-amplitude frequency w50 of the radially averaged MTF:
      sigma_eq = sqrt(2 ln 2) / w50 (exact for Gaussians, also defined for sinc kernels, whose
      second moment is negative). Kernel 1 acts on HR pixels (1/scale LR px), kernel 2 on the
      stage-1 grid, the final sinc on LR pixels. Each resize adds its interpolation blur at the
      coarser grid it reads from: c_mode * (source pixel) for bilinear/bicubic, c_box *
      max(source, target pixel) for area, so down-then-up chains count as blur, as they look.
noise (1/255): each stage's noise sigma (Poisson: scale * sqrt(mu / levels) * 255) times the
      white-noise gain of the linear steps after it (kernel L2 norms, resize tap norms).
jpeg  (quantizer factor): libjpeg's quality scaling (50/q below 50, 2 - q/50 above) of each
      JPEG times the white-noise gain of what follows it, damped by (1 + b)^-2.5 where b is the
      blur that precedes that JPEG in its own grid's pixels; in quadrature.
"""

from __future__ import annotations

import math

import numpy as np

from dalpsr_data.degradation.config import DegradationConfig
from dalpsr_data.degradation.kernels import make_kernel
from dalpsr_data.degradation.params import DegradationParams, KernelParams
from dalpsr_data.degradation.pipeline import stage1_size, stage2_size
from dalpsr_data.degradation.resize import noise_gain

# Gaussian-equivalent sigma (half-amplitude rule) of the 1-D interpolation kernels, in pixels
# of the grid they interpolate: triangle 0.423, Keys cubic (a=-0.75) 0.377, unit box 0.311.
INTERP_SIGMA = {"bilinear": 0.423, "bicubic": 0.377, "area": 0.311}

# JPEG error ~ (1 + blur before it)^-2.5: fitted on two photos (Spearman of severity vs LR JPEG
# error 0.72 -> 0.89); the exponent is part of the severity model (config.SEVERITY_MODEL).
JPEG_BLUR_EXPONENT = 2.5
PIXEL_FLOOR = 0.4

_K = 21  # every kernel fits in 21x21
_W = np.linspace(math.pi / 64, math.pi, 64)
_PHI = (np.arange(12) + 0.5) * math.pi / 12


def _mtf_basis() -> np.ndarray:
    ax = np.arange(-(_K // 2), _K // 2 + 1, dtype=np.float64)
    xx, yy = np.meshgrid(ax, ax)
    proj = np.cos(_PHI)[:, None] * xx.ravel()[None, :] + np.sin(_PHI)[:, None] * yy.ravel()[None, :]
    return np.cos(_W[:, None, None] * proj[None, :, :]).mean(axis=1)  # (64, 441): radial average


_BASIS = _mtf_basis()


def kernel_stats(p: KernelParams) -> tuple[float, float]:
    """(Gaussian-equivalent sigma by the half-amplitude rule, in pixels of the grid the kernel acts
    on; L2 norm = white-noise std gain) of one kernel. Identity: (0.0, 1.0)."""
    if p.family == "identity":
        return 0.0, 1.0
    k = make_kernel(p)
    l2 = float(np.sqrt((k * k).sum()))
    full = np.zeros((_K, _K))
    pad = (_K - k.shape[0]) // 2
    full[pad:_K - pad, pad:_K - pad] = k
    prof = _BASIS @ full.ravel()
    below = np.nonzero(prof <= 0.5)[0]
    if below.size == 0:  # MTF stays above 1/2 up to Nyquist: extrapolate as a Gaussian
        m = min(max(prof[-1], 1e-6), 1 - 1e-9)
        return math.sqrt(-2 * math.log(m)) / math.pi, l2
    j = int(below[0])
    w0, p0 = (0.0, 1.0) if j == 0 else (_W[j - 1], prof[j - 1])
    w50 = w0 + (p0 - 0.5) / (p0 - prof[j]) * (_W[j] - w0)
    return math.sqrt(2 * math.log(2)) / w50, l2


def _resize_blur(mode: str, src_px: float, dst_px: float) -> float:
    if mode == "area":
        return INTERP_SIGMA["area"] * max(src_px, dst_px)
    return INTERP_SIGMA[mode] * src_px


def jpeg_factor(quality: int) -> float:
    """libjpeg / DiffJPEG quality -> quantization table scale factor (1.0 at q=50)."""
    q = float(quality)
    return (5000.0 / q if q < 50 else 200.0 - 2.0 * q) / 100.0


def severities(params: DegradationParams, cfg: DegradationConfig) -> dict[str, float]:
    """{"blur": LR px, "noise": 1/255 units, "jpeg": quantizer factor}, all >= 0 floats."""
    p, lr = cfg.patch_size, cfg.lr_size
    s1, s2, fin = params.stage1, params.stage2, params.final
    n1 = stage1_size(p, s1.resize.scale)
    n2 = stage2_size(cfg, s2.resize.scale)
    px_hr, px1, px2 = lr / p, lr / n1, lr / n2  # pixel sizes in LR pixels

    sig1, _ = kernel_stats(s1.kernel)
    sig2, l2_2 = kernel_stats(s2.kernel) if s2.blur_applied else (0.0, 1.0)
    sig3, l2_3 = kernel_stats(fin.sinc) if fin.sinc_applied else (0.0, 1.0)
    b_terms = [sig1 * px_hr,
               _resize_blur(s1.resize.mode, px_hr, px1) if n1 != p else 0.0,
               sig2 * px1,
               _resize_blur(s2.resize.mode, px1, px2) if n2 != n1 else 0.0,
               _resize_blur(fin.mode, px2, 1.0) if n2 != lr else 0.0,
               sig3]
    blur = _quad(b_terms)

    g_final = noise_gain(n2, lr, fin.mode) * l2_3
    g_after1 = l2_2 * noise_gain(n1, n2, s2.resize.mode) * g_final

    def nsig(n) -> float:
        if n.kind == "gaussian":
            return n.sigma
        return n.poisson_scale * math.sqrt(cfg.poisson_mean_intensity / cfg.poisson_levels) * 255.0

    noise = math.hypot(nsig(s1.noise) * g_after1, nsig(s2.noise) * g_final)
    g_j2 = 1.0 if fin.resize_first else g_final
    # A blurred image has little left for JPEG to quantize: damp each JPEG by the blur that
    # precedes it, in pixels of the grid it compresses (with a 0.4 px floor for the grid itself).
    pre1 = math.hypot(_quad(b_terms[:2]) / px1, PIXEL_FLOOR)
    pre2 = math.hypot(_quad(b_terms) if fin.resize_first else _quad(b_terms[:4]) / px2, PIXEL_FLOOR)
    jpeg = math.hypot(jpeg_factor(s1.jpeg_quality) * g_after1 * (1 + pre1) ** -JPEG_BLUR_EXPONENT,
                      jpeg_factor(s2.jpeg_quality) * g_j2 * (1 + pre2) ** -JPEG_BLUR_EXPONENT)
    return {"blur": float(blur), "noise": float(noise), "jpeg": float(jpeg)}


def _quad(terms: list[float]) -> float:
    return math.sqrt(sum(t * t for t in terms))
