"""The degradation configuration: every range and probability of the Real-ESRGAN pipeline.

Defaults are the values of Real-ESRGAN's ``options/train_realesrgan_x4plus.yml`` (SeeSR uses
the same). Stage 1 and stage 2 share one ``StageConfig`` type: the same stage function runs
twice with two configs. Angles are radians, noise sigmas are in 1/255 units, JPEG qualities
are integers (cv2/libjpeg quality).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

from dalpsr_data import schema
from dalpsr_data.config_io import config_hash, to_dict

KERNEL_FAMILIES = ("iso", "aniso", "generalized_iso", "generalized_aniso", "plateau_iso", "plateau_aniso")
RESIZE_MODES = ("area", "bilinear", "bicubic")
ODD_SIZES = tuple(range(7, 22, 2))

# Bump when severity.py changes its formulas: tables made for the old model then stop matching.
SEVERITY_MODEL = "lr-equivalent-quadrature-2"

# Fields that change neither the sampling distribution nor the severities: the calibration
# table stays valid when only these change.
_NOT_HASHED = ("save_usm_hr", "calibration_path")


def _check_prob(name: str, p: float) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1], got {p}")


def _check_range(name: str, r: tuple, lo: float = -math.inf) -> None:
    if not (lo <= r[0] <= r[1]):
        raise ValueError(f"{name} must be an ordered range with low >= {lo}, got {list(r)}")


def _check_probs(name: str, ps: tuple, n: int) -> None:
    if len(ps) != n or any(p < 0 for p in ps) or abs(sum(ps) - 1.0) > 1e-6:
        raise ValueError(f"{name} must be {n} non-negative probabilities summing to 1, got {list(ps)}")


@dataclass(frozen=True)
class KernelConfig:
    """How one blur kernel is drawn (BasicSR ``random_mixed_kernels`` + the sinc branch)."""

    sizes: tuple[int, ...] = ODD_SIZES
    sinc_prob: float = 0.1
    families: tuple[str, ...] = KERNEL_FAMILIES
    family_probs: tuple[float, ...] = (0.45, 0.25, 0.12, 0.03, 0.12, 0.03)
    sigma_range: tuple[float, float] = (0.2, 3.0)
    rotation_range: tuple[float, float] = (-math.pi, math.pi)
    betag_range: tuple[float, float] = (0.5, 4.0)
    betap_range: tuple[float, float] = (1.0, 2.0)
    # sinc cutoff: kernels smaller than sinc_small_below draw from omega_small, others from omega_large
    sinc_small_below: int = 13
    sinc_omega_small: tuple[float, float] = (math.pi / 3, math.pi)
    sinc_omega_large: tuple[float, float] = (math.pi / 5, math.pi)

    def __post_init__(self) -> None:
        if not self.sizes or any(s % 2 == 0 or not 3 <= s <= 21 for s in self.sizes):
            raise ValueError(f"kernel sizes must be odd in [3, 21], got {list(self.sizes)}")
        unknown = set(self.families) - set(KERNEL_FAMILIES)
        if unknown:
            raise ValueError(f"unknown kernel families {sorted(unknown)}; known: {list(KERNEL_FAMILIES)}")
        _check_probs("family_probs", self.family_probs, len(self.families))
        _check_prob("sinc_prob", self.sinc_prob)
        _check_range("sigma_range", self.sigma_range, 1e-3)
        _check_range("rotation_range", self.rotation_range)
        _check_range("betag_range", self.betag_range, 1e-3)
        _check_range("betap_range", self.betap_range, 1e-3)
        _check_range("sinc_omega_small", self.sinc_omega_small, 1e-3)
        _check_range("sinc_omega_large", self.sinc_omega_large, 1e-3)


@dataclass(frozen=True)
class StageConfig:
    """One degradation stage: blur -> resize -> noise (-> JPEG, whose range stage 2 lends to the final JPEG)."""

    kernel: KernelConfig = field(default_factory=KernelConfig)
    blur_prob: float = 1.0
    resize_probs: tuple[float, float, float] = (0.2, 0.7, 0.1)  # up, down, keep
    resize_up_range: tuple[float, float] = (1.0, 1.5)
    resize_down_range: tuple[float, float] = (0.15, 1.0)
    resize_modes: tuple[str, ...] = RESIZE_MODES
    gaussian_noise_prob: float = 0.5
    noise_sigma_range: tuple[float, float] = (1.0, 30.0)  # 1/255 units
    poisson_scale_range: tuple[float, float] = (0.05, 3.0)
    gray_noise_prob: float = 0.4
    jpeg_range: tuple[int, int] = (30, 95)

    def __post_init__(self) -> None:
        _check_prob("blur_prob", self.blur_prob)
        _check_probs("resize_probs", self.resize_probs, 3)
        _check_range("resize_up_range", self.resize_up_range, 1e-3)
        _check_range("resize_down_range", self.resize_down_range, 1e-3)
        if not self.resize_modes or set(self.resize_modes) - set(RESIZE_MODES):
            raise ValueError(f"resize_modes must be a non-empty subset of {list(RESIZE_MODES)}")
        _check_prob("gaussian_noise_prob", self.gaussian_noise_prob)
        _check_range("noise_sigma_range", self.noise_sigma_range, 0.0)
        _check_range("poisson_scale_range", self.poisson_scale_range, 0.0)
        _check_prob("gray_noise_prob", self.gray_noise_prob)
        _check_range("jpeg_range", self.jpeg_range, 1)
        if self.jpeg_range[1] > 100:
            raise ValueError(f"jpeg_range must lie in [1, 100], got {list(self.jpeg_range)}")


def _stage2() -> StageConfig:
    return StageConfig(
        kernel=KernelConfig(sigma_range=(0.2, 1.5)), blur_prob=0.8,
        resize_probs=(0.3, 0.4, 0.3), resize_up_range=(1.0, 1.2), resize_down_range=(0.3, 1.0),
        noise_sigma_range=(1.0, 25.0), poisson_scale_range=(0.05, 2.5))


@dataclass(frozen=True)
class FinalConfig:
    """The last step: [resize to LR + sinc] and JPEG (stage 2's jpeg_range), in random order."""

    resize_first_prob: float = 0.5
    resize_modes: tuple[str, ...] = RESIZE_MODES
    sinc_prob: float = 0.8
    sinc_sizes: tuple[int, ...] = ODD_SIZES
    sinc_omega_range: tuple[float, float] = (math.pi / 3, math.pi)

    def __post_init__(self) -> None:
        _check_prob("resize_first_prob", self.resize_first_prob)
        _check_prob("sinc_prob", self.sinc_prob)
        if not self.resize_modes or set(self.resize_modes) - set(RESIZE_MODES):
            raise ValueError(f"resize_modes must be a non-empty subset of {list(RESIZE_MODES)}")
        if not self.sinc_sizes or any(s % 2 == 0 or not 3 <= s <= 21 for s in self.sinc_sizes):
            raise ValueError(f"sinc_sizes must be odd in [3, 21], got {list(self.sinc_sizes)}")
        _check_range("sinc_omega_range", self.sinc_omega_range, 1e-3)


@dataclass(frozen=True)
class DegradationConfig:
    """Everything that shapes an (HR, LR) pair. Loaded from the ``degradation:`` preset section."""

    patch_size: int = schema.DEFAULT_PATCH_SIZE
    scale: int = schema.DEFAULT_SCALE
    # USM on the GT before any degradation: 51x51 Gaussian, sigma 8, weight 0.5, threshold 10/255
    usm_kernel_size: int = 51
    usm_sigma: float = 8.0
    usm_weight: float = 0.5
    usm_threshold: float = 10.0
    save_usm_hr: bool = True  # SeeSR saves the sharpened GT as HR; recorded as hr_is_usm
    stage1: StageConfig = field(default_factory=StageConfig)
    stage2: StageConfig = field(default_factory=_stage2)
    final: FinalConfig = field(default_factory=FinalConfig)
    # Severity model: Poisson noise is turned into an equivalent Gaussian sigma assuming this mean
    # intensity (0..1) and this number of levels (BasicSR: 2^ceil(log2(#unique values))).
    poisson_mean_intensity: float = 0.45
    poisson_levels: int = 256
    # "" = the table shipped in the package (calibration_v1.json); else a JSON path from `dalpsr-data calibrate`
    calibration_path: str = ""

    def __post_init__(self) -> None:
        if self.scale < 1 or self.patch_size % self.scale:
            raise ValueError(f"patch_size ({self.patch_size}) must be a multiple of scale ({self.scale})")
        if self.patch_size // self.scale < 32:
            raise ValueError(f"LR size patch_size/scale must be >= 32, got {self.patch_size // self.scale}")
        if self.usm_kernel_size % 2 == 0 or self.usm_kernel_size < 3:
            raise ValueError(f"usm_kernel_size must be odd and >= 3, got {self.usm_kernel_size}")
        if not 0.0 < self.poisson_mean_intensity <= 1.0 or self.poisson_levels < 2:
            raise ValueError("poisson_mean_intensity must be in (0, 1] and poisson_levels >= 2")
        # the smallest intermediate image must still take a 21x21 reflect-padded kernel
        n1 = int(self.patch_size * self.stage1.resize_down_range[0])
        n2 = int(self.patch_size / self.scale * self.stage2.resize_down_range[0])
        if min(n1, n2) < 24:
            raise ValueError(f"the resize ranges shrink a {self.patch_size} patch to {min(n1, n2)} px; "
                             f"raise stage1/stage2 resize_down_range so every stage keeps >= 24 px")

    @property
    def lr_size(self) -> int:
        return self.patch_size // self.scale


@lru_cache(maxsize=64)
def sampling_hash(cfg: DegradationConfig) -> str:
    """Hash of what the calibration table depends on (sampling ranges and severity model)."""
    d = to_dict(cfg)
    for k in _NOT_HASHED:
        d.pop(k, None)
    return config_hash({"degradation": d, "severity_model": SEVERITY_MODEL})
