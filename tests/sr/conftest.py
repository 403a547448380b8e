"""Fixtures of the `dalpsr-sr` tests: tiny SD + ControlNet + IRPAD folders, a few LR files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.support.tiny_sr import build_tiny_sr_models


@pytest.fixture(scope="session")
def sr_models(tmp_path_factory) -> dict[str, Path]:
    return build_tiny_sr_models(tmp_path_factory.mktemp("sr_models"))


@pytest.fixture(scope="session")
def sr_base(sr_models):
    from dalpsr_model.diffusion.base import load_base

    return load_base(sr_models["base"])


@pytest.fixture(scope="session")
def sr_controlnet(sr_models):
    from dalpsr_model.controlnet.model import load_controlnet

    return load_controlnet(sr_models["controlnet"] / "controlnet").eval()


def smooth_image(seed: int, width: int, height: int) -> np.ndarray:
    """(height, width, 3) uint8: a smooth random colour field plus mild noise."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
    img = np.asarray(Image.fromarray(small).resize((width, height), Image.BILINEAR)).astype(np.int16)
    return np.clip(img + rng.integers(-8, 9, img.shape), 0, 255).astype(np.uint8)


def write_lr_folder(folder: Path, sizes: list[tuple[int, int]]) -> Path:
    """PNG files img0.png, img1.png, ... of the given (width, height)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, (w, h) in enumerate(sizes):
        Image.fromarray(smooth_image(i, w, h)).save(folder / f"img{i}.png")
    return folder


@pytest.fixture
def sr_config(sr_models, tmp_path):
    """Factory of small CPU SRConfigs on the tiny stack (few steps, fixed restoration prompt)."""
    from dalpsr_model.sr.config import SRConfig

    def make(inputs, **overrides):
        fields = dict(inputs=tuple(str(i) for i in inputs), out=str(tmp_path / "out"),
                      base=str(sr_models["base"]), controlnet=str(sr_models["controlnet"]),
                      irpad=str(sr_models["irpad"]), no_captions=True, steps=2, device="cpu",
                      progress=False)
        fields.update(overrides)
        return SRConfig(**fields)

    return make
