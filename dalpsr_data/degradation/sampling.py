"""Drawing the parameters of one sample: ``sample_params(rng, cfg)`` draws, applies nothing.

The rng is the sample's own Generator (``seeding.rng_for(seed, key, "degrade")``), never a
global one, so a sample's parameters do not depend on the worker, the order or the batch.
Both stages are drawn by the same function with their own ``StageConfig``.
"""

from __future__ import annotations

import numpy as np

from dalpsr_data.degradation.config import DegradationConfig, FinalConfig, StageConfig
from dalpsr_data.degradation.kernels import sample_kernel
from dalpsr_data.degradation.params import (
    DegradationParams, FinalParams, KernelParams, NoiseParams, ResizeParams, StageParams)

_DIRECTIONS = ("up", "down", "keep")
_SEED_MAX = 2**63 - 1  # fits a signed 64-bit column


def _resize(rng: np.random.Generator, sc: StageConfig) -> ResizeParams:
    direction = _DIRECTIONS[int(rng.choice(3, p=np.asarray(sc.resize_probs)))]
    if direction == "up":
        scale = float(rng.uniform(*sc.resize_up_range))
    elif direction == "down":
        scale = float(rng.uniform(*sc.resize_down_range))
    else:
        scale = 1.0
    mode = sc.resize_modes[int(rng.integers(len(sc.resize_modes)))]
    return ResizeParams(direction, scale, mode)


def _noise(rng: np.random.Generator, sc: StageConfig) -> NoiseParams:
    if rng.uniform() < sc.gaussian_noise_prob:
        kind, sigma, pscale = "gaussian", float(rng.uniform(*sc.noise_sigma_range)), 0.0
    else:
        kind, sigma, pscale = "poisson", 0.0, float(rng.uniform(*sc.poisson_scale_range))
    gray = bool(rng.uniform() < sc.gray_noise_prob)
    return NoiseParams(kind, sigma, pscale, gray, int(rng.integers(_SEED_MAX)))


def sample_stage(rng: np.random.Generator, sc: StageConfig) -> StageParams:
    """Kernel (always drawn, as RealESRGANDataset does), blur flag, resize, noise, JPEG quality."""
    kernel = sample_kernel(rng, sc.kernel)
    blur_applied = bool(rng.uniform() < sc.blur_prob)
    resize = _resize(rng, sc)
    noise = _noise(rng, sc)
    quality = int(rng.integers(sc.jpeg_range[0], sc.jpeg_range[1] + 1))
    return StageParams(blur_applied, kernel, resize, noise, quality)


def sample_final(rng: np.random.Generator, fc: FinalConfig) -> FinalParams:
    """Order (resize+sinc first or JPEG first), resize mode, and the final sinc kernel."""
    sinc_applied = bool(rng.uniform() < fc.sinc_prob)
    if sinc_applied:
        size = int(rng.choice(np.asarray(fc.sinc_sizes)))
        sinc = KernelParams("sinc", size, omega_c=float(rng.uniform(*fc.sinc_omega_range)))
    else:
        sinc = KernelParams("identity", 1)
    resize_first = bool(rng.uniform() < fc.resize_first_prob)
    mode = fc.resize_modes[int(rng.integers(len(fc.resize_modes)))]
    return FinalParams(resize_first, mode, sinc_applied, sinc)


def sample_params(rng: np.random.Generator, cfg: DegradationConfig) -> DegradationParams:
    """Every random value of one sample, in a fixed order; apply() reproduces the LR from it."""
    s1 = sample_stage(rng, cfg.stage1)
    s2 = sample_stage(rng, cfg.stage2)
    fin = sample_final(rng, cfg.final)
    return DegradationParams(s1, s2, fin)
