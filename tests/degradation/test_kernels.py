"""Kernels: analytic properties and BasicSR's values for the same parameters."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dalpsr_data.degradation.config import KernelConfig
from dalpsr_data.degradation.kernels import make_kernel, sample_kernel, sinc_kernel
from dalpsr_data.degradation.params import KernelParams

FAMILIES = [
    KernelParams("iso", 15, 2.0, 2.0),
    KernelParams("aniso", 21, 2.8, 0.5, 0.6),
    KernelParams("generalized_iso", 13, 1.5, 1.5, 0.0, 0.6),
    KernelParams("generalized_aniso", 11, 1.2, 2.4, -2.0, 3.5),
    KernelParams("plateau_iso", 9, 1.1, 1.1, 0.0, 1.0),
    KernelParams("plateau_aniso", 19, 2.5, 0.9, 1.3, 1.8),
    KernelParams("sinc", 21, omega_c=math.pi / 4),
]


@pytest.mark.parametrize("p", FAMILIES, ids=lambda p: p.family)
def test_kernel_sums_to_one_and_is_point_symmetric(p):
    k = make_kernel(p)
    assert k.shape == (p.size, p.size)
    assert abs(k.sum() - 1.0) < 1e-12
    np.testing.assert_allclose(k, k[::-1, ::-1], atol=1e-15)  # so correlation == convolution


@pytest.mark.parametrize("p", [f for f in FAMILIES if f.family.endswith("iso") and "aniso" not in f.family] + [FAMILIES[-1]],
                         ids=lambda p: p.family)
def test_isotropic_kernels_have_the_square_symmetries(p):
    k = make_kernel(p)
    np.testing.assert_allclose(k, k.T, atol=1e-15)
    np.testing.assert_allclose(k, k[::-1, :], atol=1e-15)


def test_anisotropic_rotation_by_half_pi_swaps_axes():
    a = make_kernel(KernelParams("aniso", 15, 2.5, 0.7, 0.0))
    b = make_kernel(KernelParams("aniso", 15, 2.5, 0.7, math.pi / 2))
    np.testing.assert_allclose(a, b.T, atol=1e-12)
    assert a[7, 7 + 5] > a[7 + 5, 7]  # long axis along x when theta = 0


def test_gaussian_second_moment_is_sigma_squared():
    k = make_kernel(KernelParams("iso", 21, 1.3, 1.3))
    ax = np.arange(-10, 11)
    assert abs((k.sum(axis=0) * ax * ax).sum() - 1.3**2) < 1e-6


def test_sinc_kernel_passes_below_and_stops_above_the_cutoff():
    k = sinc_kernel(math.pi / 3, 21)
    spec = np.abs(np.fft.fft2(k, s=(256, 256)))
    w = np.fft.fftfreq(256) * 2 * math.pi
    wr = np.hypot(w[:, None], w[None, :])
    assert spec[wr < 0.6 * math.pi / 3].min() > 0.85  # Gibbs ripple of the truncated sinc
    assert spec[wr > 1.5 * math.pi / 3].max() < 0.08


def test_kernels_equal_basicsr(basicsr_ref):
    row = make_kernel(KernelParams("sinc", 11, omega_c=1.3))[5]
    np.testing.assert_allclose(row, basicsr_ref["sinc_center_row"], atol=1e-10)
    row = make_kernel(KernelParams("generalized_aniso", 11, 2.1, 0.9, -1.1, 0.7))[5]
    np.testing.assert_allclose(row, basicsr_ref["generalized_center_row"], atol=1e-10)


def test_kernel_sampling_frequencies_follow_the_config():
    rng = np.random.default_rng(1)
    kc = KernelConfig()
    draws = [sample_kernel(rng, kc) for _ in range(4000)]
    fams = [d.family for d in draws]
    assert abs(fams.count("sinc") / 4000 - 0.1) < 0.02
    assert abs(fams.count("iso") / 4000 - 0.9 * 0.45) < 0.03
    assert {d.size for d in draws} == set(range(7, 22, 2))
    sinc_small = [d.omega_c for d in draws if d.family == "sinc" and d.size < 13]
    assert min(sinc_small) >= math.pi / 3
    plateau = [d.beta for d in draws if d.family.startswith("plateau")]
    assert 0.35 < np.mean(np.array(plateau) == 1.0) < 0.65  # BasicSR's [1, 1) half of the beta draws
    for d in draws:
        if d.family not in ("sinc",):
            assert 0.2 <= d.sigma_x <= 3.0 and 0.2 <= d.sigma_y <= 3.0
