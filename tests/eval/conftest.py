"""Tiny SR/HR/LR folders written at test time (seeded), shared by the eval tests."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest


def write_rgb(path: Path, img: np.ndarray) -> Path:
    """Write RGB uint8 (H, W, 3) as PNG (OpenCV wants BGR)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    return path


def smooth_image(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A photo-like RGB uint8 image: blurred noise plus a gradient (SSIM is not degenerate)."""
    base = rng.uniform(0, 255, (h // 4 + 1, w // 4 + 1, 3)).astype(np.float32)
    img = cv2.resize(base, (w, h), interpolation=cv2.INTER_CUBIC)
    img += np.linspace(-30, 30, w, dtype=np.float32)[None, :, None]
    return np.clip(img, 0, 255).astype(np.uint8)


def degrade(rng: np.random.Generator, img: np.ndarray, sigma: float) -> np.ndarray:
    noisy = img.astype(np.float64) + rng.normal(0, sigma, img.shape)
    return np.clip(np.round(noisy), 0, 255).astype(np.uint8)


@pytest.fixture
def bench(tmp_path: Path) -> dict[str, Path]:
    """sr/, hr/, lr/ with 5 keys; SR = HR + noise; LR = HR downscaled 4x. 64x48 px HR."""
    rng = np.random.default_rng(1234)
    for i in range(5):
        key = f"img_{i:03d}"
        hr = smooth_image(rng, 48, 64)
        write_rgb(tmp_path / "hr" / f"{key}.png", hr)
        write_rgb(tmp_path / "sr" / f"{key}.png", degrade(rng, hr, 4.0 + 2 * i))
        write_rgb(tmp_path / "lr" / f"{key}.png", cv2.resize(hr, (16, 12), interpolation=cv2.INTER_AREA))
    return {"sr": tmp_path / "sr", "hr": tmp_path / "hr", "lr": tmp_path / "lr", "root": tmp_path}
