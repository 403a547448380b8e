"""Blur kernels of the Real-ESRGAN pipeline: drawing (``sample_kernel``) and building (``make_kernel``).

The formulas are BasicSR's (``basicsr/data/degradations.py``): anisotropic Gaussians with
covariance R diag(sx^2, sy^2) R^T, generalized Gaussians exp(-0.5 q^beta), plateau kernels
1 / (q^beta + 1) with q = x^T C^-1 x, and the circular low-pass (sinc) kernel
omega J1(omega r) / (2 pi r). Kernels are float64, odd-sized, normalized to sum 1 and
point-symmetric, so correlation and convolution agree.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import special

from dalpsr_data.degradation.config import KernelConfig
from dalpsr_data.degradation.params import KernelParams


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """x (column offset) and y (row offset) of each tap, both (size, size) float64 in [-r, r]."""
    ax = np.arange(-(size // 2), size // 2 + 1, dtype=np.float64)
    return np.meshgrid(ax, ax)


def _quadratic_form(size: int, sig_x: float, sig_y: float, theta: float) -> np.ndarray:
    """q = [x y] C^-1 [x y]^T with C = R diag(sig_x^2, sig_y^2) R^T; (size, size) float64."""
    c, s = np.cos(theta), np.sin(theta)
    u = np.array([[c, -s], [s, c]])
    inv = np.linalg.inv(u @ np.diag([sig_x**2, sig_y**2]) @ u.T)
    xx, yy = _grid(size)
    return inv[0, 0] * xx * xx + (inv[0, 1] + inv[1, 0]) * xx * yy + inv[1, 1] * yy * yy


def sinc_kernel(omega_c: float, size: int) -> np.ndarray:
    """Circular low-pass kernel with cutoff ``omega_c`` (rad/pixel); (size, size) float64, sum 1."""
    xx, yy = _grid(size)
    r = np.sqrt(xx * xx + yy * yy)
    with np.errstate(divide="ignore", invalid="ignore"):
        k = omega_c * special.j1(omega_c * r) / (2 * np.pi * r)
    k[size // 2, size // 2] = omega_c**2 / (4 * np.pi)  # the limit at r = 0
    return k / k.sum()


@functools.lru_cache(maxsize=16)
def make_kernel(p: KernelParams) -> np.ndarray:
    """The (size, size) float64 kernel of recorded parameters (identity: [[1.0]]), read-only.

    Cached (a patch's kernels are built for its severities, then for its blurs): callers get
    the same array, which is why it cannot be written to."""
    k = _build_kernel(p)
    k.flags.writeable = False
    return k


def _build_kernel(p: KernelParams) -> np.ndarray:
    fam = p.family
    if fam == "identity":
        return np.ones((1, 1))
    if fam == "sinc":
        return sinc_kernel(p.omega_c, p.size)
    q = _quadratic_form(p.size, p.sigma_x, p.sigma_y, p.theta)
    if fam in ("iso", "aniso"):
        k = np.exp(-0.5 * q)
    elif fam.startswith("generalized"):
        k = np.exp(-0.5 * np.power(q, p.beta))
    elif fam.startswith("plateau"):
        k = np.reciprocal(np.power(q, p.beta) + 1)
    else:
        raise ValueError(f"unknown kernel family {fam!r}")
    return k / k.sum()


def _beta(rng: np.random.Generator, lo_hi: tuple[float, float]) -> float:
    # BasicSR: half the draws in [low, 1), half in [1, high] (a [1, 2] range gives 1.0 half the time)
    if rng.uniform() < 0.5:
        return float(rng.uniform(lo_hi[0], 1.0))
    return float(rng.uniform(1.0, lo_hi[1]))


def sample_kernel(rng: np.random.Generator, kc: KernelConfig) -> KernelParams:
    """Draw one kernel as RealESRGANDataset does: size, then sinc (p) or a mixed-family kernel."""
    size = int(rng.choice(np.asarray(kc.sizes)))
    if rng.uniform() < kc.sinc_prob:
        lo, hi = kc.sinc_omega_small if size < kc.sinc_small_below else kc.sinc_omega_large
        return KernelParams("sinc", size, omega_c=float(rng.uniform(lo, hi)))
    fam = kc.families[int(rng.choice(len(kc.families), p=np.asarray(kc.family_probs)))]
    sig_x = float(rng.uniform(*kc.sigma_range))
    iso = fam.endswith("iso") and not fam.endswith("aniso")
    if iso:
        sig_y, theta = sig_x, 0.0
    else:
        sig_y = float(rng.uniform(*kc.sigma_range))
        theta = float(rng.uniform(*kc.rotation_range))
    beta = 0.0
    if fam.startswith("generalized"):
        beta = _beta(rng, kc.betag_range)
    elif fam.startswith("plateau"):
        beta = _beta(rng, kc.betap_range)
    return KernelParams(fam, size, sig_x, sig_y, theta, beta, 0.0)
