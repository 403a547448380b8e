"""A build with ``degradation.patch_size: 256`` builds and trains (issue 13): the loader,
validation, the latent cache and both trainers read the geometry from the build.

256 px needs two changes to the paper's degradation config: stage 2's smallest resize
(0.3 of a 64 px LR is 19 px) must keep >= 24 px, so its range starts at 0.375; and the
calibration table depends on the sampling ranges, so a small table is calibrated for this
config here (the packaged one is for 512 px and is refused). Before BuildInfo, the loader
decoded 512/128 px images only and called every sample of such a build corrupt.
"""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from safetensors import safe_open

from dalpsr_data.atomic import write_json_atomic
from dalpsr_data.build.config import BuildConfig, PatchConfig
from dalpsr_data.build.runner import run_build
from dalpsr_data.buildinfo import BuildInfo
from dalpsr_data.degradation import DegradationConfig
from dalpsr_data.degradation.calibration import CalibrationMismatch, calibrate, load_table
from dalpsr_data.schema import decode_png_member, iter_tar_samples
from dalpsr_model.controlnet.trainer import train_controlnet
from dalpsr_model.controlnet.validation import load_val_samples
from dalpsr_model.data import EpochLoader
from dalpsr_model.irpad.trainer import IrpadConfig, train_irpad

PATCH, SCALE = 256, 4


@pytest.fixture(scope="module")
def build_256(tmp_path_factory):
    """2 shards x 4 patches of 256 px (LR 64 px) from one bundled photo."""
    folder = tmp_path_factory.mktemp("p256")
    paper = DegradationConfig()
    with pytest.raises(ValueError, match="19 px"):  # why the stage-2 range must change
        DegradationConfig(patch_size=PATCH)
    cfg = DegradationConfig(patch_size=PATCH, stage2=dataclasses.replace(paper.stage2, resize_down_range=(0.375, 1.0)))
    with pytest.raises(CalibrationMismatch):  # the packaged table is for the 512 px config
        load_table(cfg)
    table = folder / "calibration_256.json"
    write_json_atomic(table, calibrate(cfg, samples=400, seed=1))
    cfg = dataclasses.replace(cfg, calibration_path=str(table))
    out = folder / "build"
    run_build(BuildConfig(sources=("samples",), out=str(out), executor="local", workers=1,
                          shard_size=4, limit=1, seed=3), PatchConfig(per_image=8), cfg)
    return out


def test_build_records_the_geometry_and_buildinfo_reads_it(build_256):
    build = BuildInfo.open(build_256)
    assert (build.patch_size, build.scale, build.lr_size) == (PATCH, SCALE, PATCH // SCALE)
    assert build.plan_hash == json.loads((build_256 / "build.json").read_text())["plan_hash"]
    for key, members in iter_tar_samples(build_256 / build.urls[0]):
        assert decode_png_member(members["hr.png"]).shape == (PATCH, PATCH, 3)
        assert decode_png_member(members["lr.png"]).shape == (PATCH // SCALE, PATCH // SCALE, 3)


def test_loader_delivers_every_sample_at_the_build_size(build_256):
    loader = EpochLoader(build_256, batch_size=3, fields=("lr", "hr", "key"), max_epochs=1)
    batches = list(loader)
    assert loader.corrupt == 0
    assert sum(len(b["key"]) for b in batches) == sum(BuildInfo.open(build_256).sizes) == 8
    assert batches[0]["hr"].shape[1:] == (3, PATCH, PATCH)
    assert batches[0]["lr"].shape[1:] == (3, PATCH // SCALE, PATCH // SCALE)
    val = load_val_samples(build_256, 2, crop=128)
    assert val["hr"].shape == (2, 3, 128, 128) and val["lr"].shape == (2, 3, 32, 32)


def test_irpad_trains_on_a_256_build(build_256, tmp_path):
    cfg = IrpadConfig(shards=str(build_256), out=str(tmp_path / "irpad"), batch_size=4, num_workers=0,
                      shuffle_buffer=4, max_steps=3, warmup_steps=0, checkpoint_every=3, width=4, dim=16,
                      heads=2, blocks=1, cpu=True, progress=False)
    out = train_irpad(cfg)
    assert out["result"].step == 3 and all(torch.isfinite(torch.tensor(out["result"].losses)))
    assert out["eval"]["n"] == 4  # the held-out shard's 4 samples, none dropped as corrupt


def test_controlnet_step_on_a_256_build_with_and_without_the_cache(cn_config, build_256, tmp_path):
    common = dict(shards=str(build_256), crop=0, max_steps=1, checkpoint_every=1, batch_size=1,
                  use_captions=False)  # an uncaptioned build
    plain = train_controlnet(cn_config(out=str(tmp_path / "plain"), validate_every=1, val_samples=1,
                                       val_steps=1, **common))
    cached = train_controlnet(cn_config(out=str(tmp_path / "cached"), latent_cache=True, **common))
    assert all(torch.isfinite(torch.tensor(plain.losses)))
    # The cache holds whole-patch latents of side 256 / 8 for every sample, none skipped.
    (cache,) = (build_256 / "latents").iterdir()
    for url in BuildInfo.open(build_256).urls:
        marker = json.loads((cache / url.replace(".tar", ".done.json")).read_text())
        assert marker["skipped"] == {} and len(marker["keys"]) == 4
        with safe_open(str(cache / url.replace(".tar", ".safetensors")), framework="pt") as f:
            assert {tuple(f.get_tensor(k).shape) for k in f.keys()} == {(4, PATCH // 8, PATCH // 8)}
    torch.testing.assert_close(torch.tensor(cached.losses), torch.tensor(plain.losses), rtol=1e-5, atol=1e-6)
    assert (tmp_path / "plain" / "validation" / "step-00000001.png").is_file()
