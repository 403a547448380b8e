"""The Fréchet distance against its closed form on Gaussians."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import linalg
from scipy.stats import special_ortho_group

from dalpsr_model.eval.frechet import frechet_distance, frechet_of_features, gaussian_stats


def closed_form_diagonal(mu1, s1, mu2, s2) -> float:
    """Diagonal covariances (variances s1, s2): ||mu1-mu2||² + Σ (s1 + s2 − 2 √(s1 s2))."""
    return float(np.sum((mu1 - mu2) ** 2) + np.sum(s1 + s2 - 2 * np.sqrt(s1 * s2)))


def test_diagonal_gaussians_match_closed_form():
    rng = np.random.default_rng(0)
    for d in (1, 3, 64):
        mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
        s1, s2 = rng.uniform(0.1, 4, d), rng.uniform(0.1, 4, d)
        got = frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2))
        assert got == pytest.approx(closed_form_diagonal(mu1, s1, mu2, s2), rel=1e-10, abs=1e-10)


def test_rotation_invariance_gives_closed_form_for_full_covariances():
    # Rotating both Gaussians by the same orthogonal Q leaves the distance unchanged, so
    # full (non-diagonal) covariances Q diag(s) Qᵀ still have the diagonal closed form.
    rng = np.random.default_rng(1)
    d = 12
    q = special_ortho_group.rvs(d, random_state=3)
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    s1, s2 = rng.uniform(0.1, 3, d), rng.uniform(0.1, 3, d)
    got = frechet_distance(q @ mu1, q @ np.diag(s1) @ q.T, q @ mu2, q @ np.diag(s2) @ q.T)
    assert got == pytest.approx(closed_form_diagonal(mu1, s1, mu2, s2), rel=1e-8)


def test_identical_and_shifted():
    cov = np.array([[2.0, 0.5], [0.5, 1.0]])
    assert frechet_distance(np.zeros(2), cov, np.zeros(2), cov) == pytest.approx(0.0, abs=1e-10)
    assert frechet_distance(np.zeros(2), cov, np.array([3.0, 4.0]), cov) == pytest.approx(25.0, abs=1e-9)


def test_stats_are_mean_and_unbiased_covariance():
    f = np.random.default_rng(2).normal(size=(7, 3))
    mu, cov = gaussian_stats(f)
    np.testing.assert_allclose(mu, f.sum(0) / 7)
    centred = f - mu
    np.testing.assert_allclose(cov, centred.T @ centred / 6)


def test_features_of_large_samples_approach_the_population_distance():
    rng = np.random.default_rng(4)
    d, n = 4, 200_000
    mu1, mu2 = np.zeros(d), np.full(d, 0.5)
    s1, s2 = np.array([1.0, 2.0, 0.5, 1.5]), np.array([2.0, 1.0, 0.5, 0.25])
    a = mu1 + rng.normal(size=(n, d)) * np.sqrt(s1)
    b = mu2 + rng.normal(size=(n, d)) * np.sqrt(s2)
    assert frechet_of_features(a, b) == pytest.approx(closed_form_diagonal(mu1, s1, mu2, s2), rel=0.02)


def test_full_rank_covariances_match_scipy_sqrtm():
    # The textbook formula with a general matrix square root (what pyiqa/clean-fid call).
    rng = np.random.default_rng(6)
    d = 16
    a, b = rng.normal(size=(40, d)) @ rng.normal(size=(d, d)), rng.normal(size=(50, d)) + 0.3
    mu1, s1 = a.mean(0), np.cov(a, rowvar=False)
    mu2, s2 = b.mean(0), np.cov(b, rowvar=False)
    ref = np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(linalg.sqrtm(s1 @ s2).real)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(ref, rel=1e-9)
    assert frechet_of_features(a, b) == pytest.approx(ref, rel=1e-9)


def test_fewer_samples_than_dimensions_low_rank_path_is_exact():
    # 10 and 12 images, 60 features: both covariances singular (FID on small sets). The SVD
    # path must equal the covariance path (to 1e-7: there √ of the rounding noise of the ~50
    # zero eigenvalues, ~3e-8 each, adds up), and a shift moves it as the means say.
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=(10, 60)), rng.normal(size=(12, 60)) * 1.5
    via_cov = frechet_distance(*gaussian_stats(a), *gaussian_stats(b))
    assert frechet_of_features(a, b) == pytest.approx(via_cov, rel=1e-7)
    shift = np.full(60, 0.5)
    assert frechet_of_features(a, b + shift) == pytest.approx(
        frechet_distance(*gaussian_stats(a), *gaussian_stats(b + shift)), rel=1e-7)
    assert frechet_of_features(a, a) == pytest.approx(0.0, abs=1e-9)


def test_inception_sized_features_take_seconds():
    # 100 images x 2048 features (a RealSR FID): scipy's sqrtm takes minutes here.
    import time

    rng = np.random.default_rng(8)
    start = time.perf_counter()
    value = frechet_of_features(rng.normal(size=(100, 2048)), rng.normal(size=(93, 2048)) + 0.1)
    assert np.isfinite(value) and time.perf_counter() - start < 10


def test_shape_errors():
    with pytest.raises(ValueError, match="shape mismatch"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))
    with pytest.raises(ValueError, match="at least 2"):
        gaussian_stats(np.zeros((1, 4)))
