"""PSNR/SSIM on Y against scikit-image, with BasicSR's Y written out here (not imported)."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from dalpsr_model.eval import fidelity

from .conftest import degrade, smooth_image


def y_basicsr(img: np.ndarray) -> np.ndarray:
    """BasicSR's Y of RGB uint8, unrounded: 16 + (65.481 R + 128.553 G + 24.966 B) / 255."""
    r, g, b = (img[..., i].astype(np.float64) for i in range(3))
    return 16.0 + (65.481 * r + 128.553 * g + 24.966 * b) / 255.0


def ssim_skimage(a: np.ndarray, b: np.ndarray) -> float:
    # 11x11 Gaussian window, sigma 1.5 (truncate 3.5 -> radius 5), population covariances,
    # data range 255; skimage averages over the positions 5 px away from the border, which
    # are exactly BasicSR's 'valid' positions.
    return structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                 data_range=255)


def crop(img: np.ndarray, c: int) -> np.ndarray:
    return img[c:-c, c:-c] if c else img


def pairs(n: int = 4):
    rng = np.random.default_rng(7)
    for i in range(n):
        hr = smooth_image(rng, 40 + 8 * i, 56 + 4 * i)
        yield hr, degrade(rng, hr, 3.0 + 10 * i)


def test_y_channel_is_basicsr_formula_unrounded():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (9, 11, 3), dtype=np.uint8)
    np.testing.assert_allclose(fidelity.rgb_to_y(img), y_basicsr(img), rtol=0, atol=1e-12)
    ends = np.array([[[0, 0, 0], [255, 255, 255]]], np.uint8)
    np.testing.assert_allclose(fidelity.rgb_to_y(ends), [[16.0, 235.0]], atol=1e-9)
    assert not np.allclose(fidelity.rgb_to_y(img), np.round(fidelity.rgb_to_y(img)))


@pytest.mark.parametrize("border", [0, 4])
def test_psnr_matches_skimage(border):
    for hr, sr in pairs():
        ref = peak_signal_noise_ratio(crop(y_basicsr(hr), border), crop(y_basicsr(sr), border), data_range=255)
        assert fidelity.psnr_y(sr, hr, border) == pytest.approx(ref, abs=1e-9)


@pytest.mark.parametrize("border", [0, 4])
def test_ssim_matches_skimage(border):
    values = []
    for hr, sr in pairs():
        ref = ssim_skimage(crop(y_basicsr(hr), border), crop(y_basicsr(sr), border))
        ours = fidelity.ssim_y(sr, hr, border)
        assert ours == pytest.approx(ref, abs=1e-9)
        values.append(ours)
    assert max(values) - min(values) > 0.1  # the pairs span a real range of SSIM


def test_crop_border_changes_the_scored_region():
    hr = smooth_image(np.random.default_rng(3), 48, 48)
    sr = hr.copy()
    sr[:4] = 0  # damage only the top 4 rows
    assert fidelity.psnr_y(sr, hr, 0) < 40
    assert fidelity.psnr_y(sr, hr, 4) == float("inf")
    assert fidelity.ssim_y(sr, hr, 4) == pytest.approx(1.0, abs=1e-12)


def test_pyiqa_variant_is_ssim_of_rounded_y_when_structure_agrees():
    # With small noise every contrast-structure term is positive, so pyiqa's clamp is inert
    # and its SSIM is plain SSIM on integer-rounded Y.
    for hr, sr in list(pairs(2)):
        ref = ssim_skimage(np.round(y_basicsr(hr)), np.round(y_basicsr(sr)))
        assert fidelity.ssim_y(sr, hr, variant="pyiqa") == pytest.approx(ref, abs=1e-9)
        assert fidelity.ssim_y(sr, hr, variant="pyiqa") != fidelity.ssim_y(sr, hr)


def test_pyiqa_variant_clamps_negative_structure():
    rng = np.random.default_rng(5)
    hr = smooth_image(rng, 32, 32)
    sr = (255 - hr.astype(np.int16)).astype(np.uint8)  # inverted: structure anti-correlated
    assert fidelity.ssim_y(sr, hr) < 0
    assert fidelity.ssim_y(sr, hr, variant="pyiqa") >= 0


def test_bad_inputs_raise():
    a = np.zeros((20, 20, 3), np.uint8)
    with pytest.raises(ValueError, match="SR is 20x20 but HR is 21x20"):
        fidelity.psnr_y(a, np.zeros((20, 21, 3), np.uint8))
    with pytest.raises(ValueError, match="too small for crop_border 10"):
        fidelity.ssim_y(a, a, 10)
    with pytest.raises(ValueError, match="at least 11x11"):
        fidelity.ssim_y(a[:8], a[:8])
