"""Fréchet distance between two Gaussians fitted to feature sets (the distance behind FID).

    d² = ||μ1 − μ2||² + Tr(Σ1) + Tr(Σ2) − 2 Tr((Σ1 Σ2)^½)

The statistics follow clean-fid / pyiqa: μ the feature mean, Σ the unbiased covariance
(``np.cov``, N − 1). Only the trace of the matrix square root is needed, and Σ1 Σ2 is
similar to the symmetric PSD matrix Σ1^½ Σ2 Σ1^½, so the trace is Σ √λ over that matrix's
eigenvalues: two symmetric eigendecompositions instead of scipy's general ``sqrtm``, which
takes minutes on the singular 2048×2048 products of a 100-image benchmark and turns
inaccurate there. With fewer images than dimensions (RealSR: 100 images, 2048 Inception
features), the non-zero eigenvalues of Σ1 Σ2 are those of (X1 X2ᵀ)(X1 X2ᵀ)ᵀ / ((n1−1)(n2−1))
for the centred features X, so the trace is the nuclear norm of X1 X2ᵀ over √((n1−1)(n2−1)):
exact, and an n1×n2 SVD.
"""

from __future__ import annotations

import numpy as np


def gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (D,) and unbiased covariance (D, D), float64, of features (N, D) with N >= 2."""
    f = _features(features)
    return f.mean(axis=0), np.cov(f, rowvar=False)


def _features(features: np.ndarray) -> np.ndarray:
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or f.shape[0] < 2:
        raise ValueError(f"need at least 2 feature vectors (N, D), got shape {f.shape}")
    return f


def trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    """Tr((Σ1 Σ2)^½) for symmetric PSD Σ1, Σ2 (D, D), via the eigenvalues of Σ1^½ Σ2 Σ1^½."""
    w, v = np.linalg.eigh(sigma1)
    root = (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T
    m = root @ sigma2 @ root
    ev = np.linalg.eigvalsh((m + m.T) / 2)  # symmetrise away rounding before eigvalsh
    return float(np.sum(np.sqrt(np.clip(ev, 0.0, None))))  # tiny negative ev are rounding of 0


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """Fréchet distance of N(mu1, sigma1) and N(mu2, sigma2); means (D,), covariances (D, D)."""
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    s1, s2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (mu1.size, mu1.size):
        raise ValueError(f"shape mismatch: mu {mu1.shape}/{mu2.shape}, sigma {s1.shape}/{s2.shape}")
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * trace_sqrt_product(s1, s2))


def frechet_of_features(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between the Gaussians fitted to features ``a`` (N1, D) and ``b`` (N2, D)."""
    a, b = _features(a), _features(b)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"shape mismatch: features {a.shape} and {b.shape}")
    if min(a.shape[0], b.shape[0]) >= a.shape[1]:
        return frechet_distance(*gaussian_stats(a), *gaussian_stats(b))
    xa, xb = a - a.mean(axis=0), b - b.mean(axis=0)
    scale = np.sqrt((a.shape[0] - 1) * (b.shape[0] - 1))
    tr_sqrt = float(np.linalg.svd(xa @ xb.T, compute_uv=False).sum()) / scale
    diff = a.mean(axis=0) - b.mean(axis=0)
    tr1 = float(np.sum(xa * xa)) / (a.shape[0] - 1)  # Tr(Σ) without forming the D×D matrix
    tr2 = float(np.sum(xb * xb)) / (b.shape[0] - 1)
    return float(diff @ diff + tr1 + tr2 - 2.0 * tr_sqrt)
