"""Tiny inputs for build tests: synthetic photos-like images and every kind of bad file."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def smooth_image(h: int, w: int, seed: int) -> np.ndarray:
    """uint8 (h, w, 3): low-frequency colour field + mild texture (compresses like a photo)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    out = np.empty((h, w, 3), np.float32)
    for c in range(3):
        fx, fy, ph = rng.uniform(0.005, 0.03), rng.uniform(0.005, 0.03), rng.uniform(0, 6.28)
        out[..., c] = 128 + 90 * np.sin(fx * x + ph) * np.cos(fy * y) + rng.normal(0, 6, (h, w))
    return np.clip(out, 0, 255).astype(np.uint8)


def save(path: Path, img: Image.Image, **kw) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, **kw)
    return path


def exif_rotated_jpeg(path: Path, h: int, w: int, orientation: int = 6) -> np.ndarray:
    """Write a JPEG whose stored pixels are (h, w) with an EXIF orientation tag; returns them."""
    arr = smooth_image(h, w, 7)
    exif = Image.Exif()
    exif[0x0112] = orientation
    save(path, Image.fromarray(arr), quality=95, exif=exif.tobytes())
    return arr


def make_good_folder(root: Path, n: int = 3, size: tuple[int, int] = (600, 700)) -> Path:
    """``n`` PNG photos of ``size`` (h, w) named img_000.png ... under ``root``."""
    for i in range(n):
        save(root / f"img_{i:03d}.png", Image.fromarray(smooth_image(*size, seed=i)))
    return root


def make_bad_folder(root: Path) -> dict[str, str]:
    """Every awkward input the issue names; returns {relative path: expected outcome}.

    Outcomes: a skip reason code, or "ok" for files converted and built.
    """
    good = smooth_image(600, 640, 11)
    buf = io.BytesIO()
    Image.fromarray(good).save(buf, format="JPEG", quality=90)
    (root).mkdir(parents=True, exist_ok=True)
    (root / "truncated.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    (root / "zero.png").write_bytes(b"")
    (root / "notes.png").write_bytes(b"this is not an image\n" * 10)
    Image.fromarray(good).save(root / "ok_rgb.png")
    g16 = (smooth_image(560, 600, 3)[..., 0].astype(np.uint16) * 257)
    Image.fromarray(g16).save(root / "gray16.png")
    Image.fromarray(good).convert("CMYK").save(root / "cmyk.jpg", quality=95)
    Image.fromarray(good).convert("P", palette=Image.Palette.ADAPTIVE).save(root / "palette.png")
    exif_rotated_jpeg(root / "rotated.jpg", 520, 600)
    Image.fromarray(smooth_image(60, 80, 5)).save(root / "tiny.png")
    return {"truncated.jpg": "truncated", "zero.png": "empty_file", "notes.png": "not_an_image",
            "ok_rgb.png": "ok", "gray16.png": "ok", "cmyk.jpg": "ok", "palette.png": "ok",
            "rotated.jpg": "ok", "tiny.png": "too_small"}


@pytest.fixture
def good_folder(tmp_path: Path) -> Path:
    return make_good_folder(tmp_path / "photos")


@pytest.fixture
def bad_folder(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    root = tmp_path / "mixed"
    return root, make_bad_folder(root)


@pytest.fixture(scope="session")
def deg_cfg(tmp_path_factory):
    """The default degradation config; with a small test calibration table only while the
    packaged one is missing or stale (these tests check the build, not the calibration)."""
    import json

    from dalpsr_data.config_io import ConfigError
    from dalpsr_data.degradation import DegradationConfig
    from dalpsr_data.degradation.calibration import calibrate, load_table

    try:
        load_table(DegradationConfig())
        return DegradationConfig()
    except ConfigError:
        pass

    path = tmp_path_factory.mktemp("calibration") / "table.json"
    path.write_text(json.dumps(calibrate(DegradationConfig(), samples=2000, seed=1)))
    return DegradationConfig(calibration_path=str(path))


def tree_bytes(root: Path) -> dict[str, bytes]:
    """The deterministic outputs of a build folder: every tar and index.json."""
    names = sorted(p.name for p in root.glob("shard-*.tar")) + ["index.json"]
    return {n: (root / n).read_bytes() for n in names}


SAMPLES_CFG = dict(sources=("samples",), shard_size=2, seed=0)


@pytest.fixture(scope="session")
def reference_build(tmp_path_factory, deg_cfg):
    """The embedded samples, 1 patch each, 6 shards, built by the local executor."""
    from dalpsr_data.build.config import BuildConfig, PatchConfig
    from dalpsr_data.build.runner import run_build

    out = tmp_path_factory.mktemp("reference") / "shards"
    run_build(BuildConfig(**SAMPLES_CFG, out=str(out), executor="local"), PatchConfig(per_image=1), deg_cfg)
    return out
