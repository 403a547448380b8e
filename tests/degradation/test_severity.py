"""Severities: kernel equivalents, monotonicity, and that the LR image actually shows them."""

from __future__ import annotations

import dataclasses as dc
import math

import cv2
import numpy as np
import pytest
from scipy.stats import spearmanr

from dalpsr_data.degradation import apply, sample_params, severities
from dalpsr_data.degradation import ops
from dalpsr_data.degradation.params import KernelParams
from dalpsr_data.degradation.resize import resize
from dalpsr_data.degradation.severity import jpeg_factor, kernel_stats
from dalpsr_data.seeding import rng_for


@pytest.mark.parametrize("sigma", [0.8, 1.5, 2.2, 3.0])
def test_gaussian_kernel_equivalent_sigma_is_its_sigma(sigma):
    assert abs(kernel_stats(KernelParams("iso", 21, sigma, sigma))[0] - sigma) / sigma < 0.03


def test_sinc_equivalent_sigma_follows_the_cutoff():
    s = [kernel_stats(KernelParams("sinc", 21, omega_c=w))[0] for w in (math.pi / 5, math.pi / 2, math.pi * 0.9)]
    assert s[0] > s[1] > s[2] > 0
    assert abs(s[0] - math.sqrt(2 * math.log(2)) / (math.pi / 5)) / s[0] < 0.25
    assert kernel_stats(KernelParams("identity", 1))[0] == 0.0


def test_jpeg_factor_is_libjpeg_scaling():
    assert jpeg_factor(50) == 1.0 and jpeg_factor(25) == 2.0 and abs(jpeg_factor(95) - 0.1) < 1e-12


def _quiet(p, noise=True, jpeg=True):
    """The same params with noise (sigma 0) and/or JPEG (quality 100) switched off."""
    s1, s2 = p.stage1, p.stage2
    if noise:
        s1 = dc.replace(s1, noise=dc.replace(s1.noise, kind="gaussian", sigma=0.0))
        s2 = dc.replace(s2, noise=dc.replace(s2.noise, kind="gaussian", sigma=0.0))
    if jpeg:
        s1, s2 = dc.replace(s1, jpeg_quality=100), dc.replace(s2, jpeg_quality=100)
    return dc.replace(p, stage1=s1, stage2=s2)


def test_severity_grows_with_each_parameter(cfg):
    p = sample_params(rng_for(1, "m", "degradation"), cfg)
    lo = dc.replace(p, stage2=dc.replace(p.stage2, noise=dc.replace(p.stage2.noise, kind="gaussian", sigma=2.0)))
    hi = dc.replace(p, stage2=dc.replace(p.stage2, noise=dc.replace(p.stage2.noise, kind="gaussian", sigma=20.0)))
    assert severities(hi, cfg)["noise"] > severities(lo, cfg)["noise"]
    q_lo = dc.replace(p, stage2=dc.replace(p.stage2, jpeg_quality=90))
    q_hi = dc.replace(p, stage2=dc.replace(p.stage2, jpeg_quality=35))
    assert severities(q_hi, cfg)["jpeg"] > severities(q_lo, cfg)["jpeg"]
    k = KernelParams("iso", 21, 0.5, 0.5)
    b_lo = dc.replace(p, stage1=dc.replace(p.stage1, kernel=k))
    b_hi = dc.replace(p, stage1=dc.replace(p.stage1, kernel=dc.replace(k, sigma_x=3.0, sigma_y=3.0)))
    assert severities(b_hi, cfg)["blur"] > severities(b_lo, cfg)["blur"]


def test_lr_image_shows_the_severities(photo, cfg):
    """Each severity ranks what the LR image shows: noise std, JPEG error, loss of detail."""
    def detail(x):
        return float(np.abs(cv2.Laplacian(x.mean(axis=2).astype(np.float32), cv2.CV_32F)).mean())

    ref_detail = detail(resize(ops.usm_sharpen(ops.to_float(photo)), (128, 128), "area") * 255)
    sev, seen = {"blur": [], "noise": [], "jpeg": []}, {"blur": [], "noise": [], "jpeg": []}
    for i in range(30):
        p = sample_params(rng_for(3, f"n{i}", "degradation"), cfg)
        s = severities(p, cfg)
        clean = apply(photo, _quiet(p), cfg)[1].astype(np.float64)
        noisy = apply(photo, _quiet(p, noise=False), cfg)[1].astype(np.float64)
        blocky = apply(photo, _quiet(p, jpeg=False), cfg)[1].astype(np.float64)
        for t, v in (("noise", (noisy - clean).std()), ("jpeg", (blocky - clean).std()),
                     ("blur", -math.log(detail(clean) / ref_detail))):
            sev[t].append(s[t])
            seen[t].append(v)
    rho = {t: spearmanr(sev[t], seen[t])[0] for t in sev}
    print("spearman", rho)
    assert rho["noise"] > 0.85 and rho["blur"] > 0.75 and rho["jpeg"] > 0.75, rho
