"""Fixtures of the ControlNet tests: a tiny random SD 2.1-base-layout stack and a tiny build.

Both are written once per session under pytest's tmp folder (nothing is downloaded and no
weights stay in the repository).
"""

from __future__ import annotations

import pytest

from tests.support.fake_build import write_fake_build
from dalpsr_model.models.tiny_sd import build_tiny_sd


@pytest.fixture(scope="session")
def tiny_sd_dir(tmp_path_factory):
    return build_tiny_sd(tmp_path_factory.mktemp("tiny_sd") / "sd21base", seed=0)


@pytest.fixture(scope="session")
def tiny_base(tiny_sd_dir):
    """The tiny base loaded through the production path (fp32, CPU). Read-only in tests."""
    from dalpsr_model.diffusion.base import load_base

    return load_base(tiny_sd_dir)


@pytest.fixture(scope="session")
def cn_build(tmp_path_factory):
    """2 shards x 4 samples (512 px HR, 128 px LR, flat colours) with caption sidecars."""
    return write_fake_build(tmp_path_factory.mktemp("cn_build") / "shards", [4, 4], captions=True)


@pytest.fixture
def cn_config(tiny_sd_dir, cn_build, tmp_path):
    """A factory of small, fast ControlNetConfig objects (128 px crops, batch 2, CPU)."""
    from dalpsr_model.controlnet.config import ControlNetConfig

    def make(**overrides):
        fields = dict(shards=str(cn_build), out=str(tmp_path / "run"), base=str(tiny_sd_dir),
                      batch_size=2, num_workers=0, shuffle_buffer=4, max_steps=4, crop=128,
                      lr=1e-3, validate_every=0, val_steps=2, val_samples=2, progress=False,
                      checkpoint_every=2, cpu=True, cond_embed_channels=16)
        fields.update(overrides)
        return ControlNetConfig(**fields)

    return make
