"""Image ops: BasicSR's values for fixed inputs, and analytic properties of noise and JPEG."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest

from dalpsr_data.degradation import filters, ops
from dalpsr_data.degradation.kernels import make_kernel
from dalpsr_data.degradation.params import KernelParams, NoiseParams
from dalpsr_data.degradation.resize import noise_gain, resize

TOL = 1.0 / 255 / 50  # far inside the 1/255 the issue asks for


def _sine16() -> np.ndarray:
    yy, xx = np.mgrid[0:16, 0:16].astype(np.float32)
    img = (0.5 + 0.45 * np.sin(0.9 * xx + 0.3 * yy) * np.cos(0.5 * yy)).astype(np.float32)
    return np.repeat(img[..., None], 3, axis=2)


@pytest.mark.parametrize("mode", ["area", "bilinear", "bicubic"])
def test_resize_equals_torch_interpolate(mode, basicsr_ref):
    img = _sine16()
    out = resize(img, (9, 9), mode, 0.6)  # F.interpolate(scale_factor=0.6): floor(16 * 0.6) = 9
    np.testing.assert_allclose(out[..., 1], basicsr_ref[f"scale0.6_{mode}"], atol=TOL)
    out = resize(img, (20, 20), mode, 1.3)
    np.testing.assert_allclose(out[5, :, 2], basicsr_ref[f"scale1.3_{mode}"], atol=TOL)
    out = resize(img, (7, 7), mode)  # F.interpolate(size=7)
    np.testing.assert_allclose(out[..., 0], basicsr_ref[f"size7_{mode}"], atol=TOL)


def test_resize_identity_and_noise_gain():
    img = _sine16()
    for mode in ("area", "bilinear", "bicubic"):
        np.testing.assert_array_equal(resize(img, (16, 16), mode), img)
    # area 2x down averages 4 pixels: white-noise std halves
    assert abs(noise_gain(64, 32, "area") - 0.5) < 1e-6
    rng = np.random.default_rng(0)
    z = rng.standard_normal((256, 256, 1)).astype(np.float32)
    for mode in ("bilinear", "bicubic"):
        measured = resize(z, (171, 171), mode)[8:-8, 8:-8].std()
        assert abs(measured - noise_gain(256, 171, mode)) < 0.03


def test_filter_equals_basicsr_filter2d(basicsr_ref):
    img = _sine16()
    k = make_kernel(KernelParams("plateau_aniso", 9, 1.7, 0.6, 0.8, 1.4))
    np.testing.assert_allclose(filters.blur(img, k)[8, :, 0], basicsr_ref["filter_row8"], atol=TOL)


def test_dft_filter_equals_basicsr_filter2d(basicsr_ref):
    """A 19-tap kernel on a 176 x 200 image goes through the DFT: BasicSR's filter2D values,
    at a border row and inside."""
    yy, xx = np.mgrid[0:176, 0:200].astype(np.float32)
    wave = (0.5 + 0.45 * np.sin(0.9 * xx + 0.3 * yy) * np.cos(0.5 * yy)).astype(np.float32)
    k = make_kernel(KernelParams("plateau_aniso", 19, 2.0, 0.8, 0.5, 1.3))
    assert filters._dft_is_faster(19, wave.shape)
    out = filters.blur(np.repeat(wave[..., None], 3, axis=2), k)
    np.testing.assert_allclose(out[0, :, 0], basicsr_ref["filter_dft_rows"][0], atol=TOL)
    np.testing.assert_allclose(out[90, :, 0], basicsr_ref["filter_dft_rows"][1], atol=TOL)


@pytest.mark.parametrize("size", [7, 11, 13, 15, 17, 19, 21])
@pytest.mark.parametrize("hw", [(70, 93), (171, 200)])
def test_fast_paths_equal_the_full_filter(size, hw):
    """Separable (rank-1), column-strip and DFT paths give cv2.filter2D's result, borders
    included (171 x 200: the DFT path for 15-21 taps, odd sides, unequal padding)."""
    import cv2

    assert filters._dft_is_faster(size, hw) == (size >= 15 and (size <= 17 or min(hw) >= 160))
    img = np.random.default_rng(2).random((*hw, 3), dtype=np.float32)
    for p in (KernelParams("iso", size, 2.7, 2.7), KernelParams("plateau_aniso", size, 2.0, 0.8, 0.5, 1.3)):
        k = make_kernel(p)
        full = cv2.filter2D(img, -1, k.astype(np.float32), borderType=cv2.BORDER_REFLECT_101)
        np.testing.assert_allclose(filters.blur(img, k), full, atol=1e-6)


def test_usm_equals_basicsr_usmsharp(basicsr_ref):
    yy, xx = np.mgrid[0:64, 0:64].astype(np.float32)
    u = np.clip(0.5 + 0.4 * np.sign(np.sin(0.2 * xx)) * np.cos(0.07 * yy), 0, 1).astype(np.float32)
    out = ops.usm_sharpen(np.repeat(u[..., None], 3, axis=2))
    np.testing.assert_allclose(out[20, :, 0], basicsr_ref["usm_row20"], atol=TOL)


def test_gaussian_noise_std_and_gray_channels():
    img = np.full((256, 256, 3), 0.5, np.float32)
    n = ops.noise_field(img, NoiseParams("gaussian", 20.0, 0.0, False, 5))
    assert abs(n.std() * 255 - 20.0) < 0.3
    assert abs(np.corrcoef(n[..., 0].ravel(), n[..., 1].ravel())[0, 1]) < 0.02
    g = ops.noise_field(img, NoiseParams("gaussian", 20.0, 0.0, True, 5))
    out = ops.add_noise(img, NoiseParams("gaussian", 20.0, 0.0, True, 5))
    assert g.shape == (256, 256, 1)
    np.testing.assert_array_equal(out[..., 0], out[..., 2])  # gray noise: same in every channel


def test_poisson_noise_variance_and_levels():
    # 256 unique values -> BasicSR uses 2^ceil(log2(256)) = 256 levels: Var = scale^2 * x / 256
    ramp = np.tile(np.arange(256, dtype=np.float32) / 255, (512, 1))
    img = np.repeat(ramp[..., None], 3, axis=2)
    n = ops.noise_field(img, NoiseParams("poisson", 0.0, 2.0, False, 9))
    col = 200
    expected = 2.0 * math.sqrt((col / 255) / 256)
    assert abs(n[:, col].std() - expected) / expected < 0.05
    assert abs(n.mean()) < 1e-3  # Poisson noise is unbiased
    # 3 unique values -> 4 levels: noise is much stronger than with 256 levels
    few = np.repeat(np.array([0.2, 0.5, 0.8], np.float32), 512 * 512 // 3 + 1)[: 512 * 512].reshape(512, 512, 1)
    nf = ops.noise_field(np.repeat(few, 3, axis=2), NoiseParams("poisson", 0.0, 1.0, False, 9))
    assert abs(nf[few[..., 0] == np.float32(0.5)].std() - math.sqrt(0.5 / 4)) < 0.02


def test_jpeg_error_falls_as_quality_rises(photo):
    img = ops.to_float(photo)
    errs = [np.abs(ops.jpeg(img, q) - img).mean() for q in (30, 50, 70, 95)]
    assert all(a > b for a, b in zip(errs, errs[1:])), errs
    assert errs[-1] < 2.0 / 255


def test_jpeg_sees_bgr_like_basicsr(photo):
    """libjpeg must get BGR from cv2, i.e. agree with PIL's RGB encoder, not with swapped channels."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(photo).save(buf, format="JPEG", quality=40)
    pil = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB")).astype(np.float32) / 255
    ours = ops.jpeg(ops.to_float(photo), 40)
    swapped = ops.jpeg(ops.to_float(photo[..., ::-1].copy()), 40)[..., ::-1]
    d_ours, d_swapped = np.abs(ours - pil).mean(), np.abs(swapped - pil).mean()
    assert d_ours < 1.0 / 255 and d_ours < 0.5 * d_swapped


def test_to_uint8_clamps_and_rounds_half_to_even():
    x = np.array([[[-0.3, 0.5 / 255, 1.5 / 255], [2.5 / 255, 254.5 / 255, 1.7]]], np.float32)
    np.testing.assert_array_equal(ops.to_uint8(x), [[[0, 0, 2], [2, 254, 255]]])
    r = np.random.default_rng(3).random((64, 64, 3), dtype=np.float32) * 1.4 - 0.2
    np.testing.assert_array_equal(ops.to_uint8(r), np.rint(np.clip(r, 0, 1) * np.float32(255)).astype(np.uint8))


@pytest.mark.parametrize("lam", [0.7, 5.0, 15.9, 16.0, 24.0, 80.0, 230.0])
def test_poisson_counts_follow_scipys_poisson_pmf(lam):
    """Both sides of POISSON_TABLE_BELOW: the counts' histogram is within sampling noise of
    scipy's Poisson pmf (total variation; exact sampling gives 0.0004-0.0054 at n = 400k)."""
    from scipy import stats

    n = 400_000
    k = ops.poisson_counts(np.random.default_rng(1), np.ones((n // 4, 2, 2), np.uint8), lam)
    assert k.shape == (n // 4, 2, 2) and k.dtype == np.float32
    hi = int(lam + 12 * math.sqrt(lam) + 10)
    counts = np.bincount(np.minimum(k.astype(np.int64).ravel(), hi), minlength=hi + 1)
    tv = 0.5 * np.abs(counts / n - stats.poisson.pmf(np.arange(hi + 1), lam)).sum()
    assert tv < 0.008, tv


def test_small_count_tables_are_scipys_poisson_quantiles():
    """Below POISSON_TABLE_BELOW the 16 random bits b of a value pick Poisson(lam)'s quantile
    at (b + 0.5)/65536: scipy's ppf there, for every level of an image with 256 and 8 levels;
    the rows stop where lam reaches the threshold."""
    from scipy import stats

    u = (np.arange(0, 65536, 7) + 0.5) / 65536
    for rate, rows in ((256 / 255, 16), (8 / 255, 256)):
        tables = ops._small_count_tables(rate)
        assert tables.shape == (rows, 65536)
        for q in range(0, rows, 5):
            lam = float(np.float32(q) * np.float32(rate))
            np.testing.assert_array_equal(tables[q, ::7], stats.poisson.ppf(u, lam))
    # the values of an image: each level's counts through its own row, and the same bits give
    # the same counts on a rerun
    q = np.random.default_rng(4).integers(0, 40, (64, 64, 3)).astype(np.uint8)
    k = ops.poisson_counts(np.random.default_rng(5), q, 256 / 255)
    np.testing.assert_array_equal(k, ops.poisson_counts(np.random.default_rng(5), q, 256 / 255))
    bits = np.frombuffer(np.random.default_rng(5).bytes(2 * q.size), "<u2").reshape(q.shape)
    small = q < 16
    lam = q[small].astype(np.float32) * np.float32(256 / 255)
    np.testing.assert_array_equal(k[small], stats.poisson.ppf((bits[small] + 0.5) / 65536, lam))


def test_table_normal_matches_scipys_normal():
    """KS distance to scipy's N(0, 1) within sampling noise, unit variance, 16-bit resolution
    (not a coarse table), tails to 4.3, the same values from the same seed."""
    from scipy import stats

    z = ops.standard_normal(np.random.default_rng(3), (200_000, 2))
    assert z.shape == (200_000, 2) and z.dtype == np.float32
    assert stats.kstest(z.ravel(), "norm").statistic < 0.003
    assert abs(float(z.mean())) < 0.005 and abs(float(z.var()) - 1.0) < 0.01
    assert len(np.unique(z)) > 50_000 and 4.2 < float(np.abs(z).max()) < 4.4
    np.testing.assert_array_equal(z, ops.standard_normal(np.random.default_rng(3), (200_000, 2)))
