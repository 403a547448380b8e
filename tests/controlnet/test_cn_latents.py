"""The per-shard latent cache: layout, commit protocol, and the same loss as without it."""

from __future__ import annotations

import io
import json
import os
import shutil

import pytest
import torch

from dalpsr_data.buildinfo import BuildInfo
from dalpsr_data.schema import decode_png_member, iter_tar_samples
from dalpsr_model.controlnet.latent_cache import LatentCache, ensure_latent_cache
from dalpsr_model.controlnet.trainer import train_controlnet
from dalpsr_model.diffusion.base import module_hash
from dalpsr_model.diffusion.latents import encode_pair, images_to_unit


@pytest.fixture(scope="module")
def build_copy(cn_build, tiny_base, tmp_path_factory):
    """A private copy of the tiny build with its latent cache (encoded once per module;
    each test leaves the cache complete)."""
    root = shutil.copytree(cn_build, tmp_path_factory.mktemp("cached") / "shards")
    ensure_latent_cache(root, tiny_base.vae, module_hash(tiny_base.vae, "torch.float32"), batch_size=3)
    return root


def test_cache_layout_values_and_rerun(tiny_base, build_copy):
    h = module_hash(tiny_base.vae, "torch.float32")
    out = BuildInfo.of(build_copy).latent_dir(h)
    assert out.parent.name == "latents" and out.parent.parent == build_copy
    marker = json.loads((out / "shard-000001.done.json").read_text())
    assert marker["vae_hash"] == h and marker["skipped"] == {}
    assert marker["keys"] == [f"s00001_i{i:04d}" for i in range(4)]
    # Cached latents equal a fresh encoding of the same PNGs (batching does not matter).
    key, members = next(iter_tar_samples(build_copy / "shard-000001.tar"))
    hr = images_to_unit(decode_png_member(members["hr.png"])[None])
    lr = images_to_unit(decode_png_member(members["lr.png"])[None])
    z0, z_lr = encode_pair(tiny_base.vae, hr, lr)
    c0, c_lr = LatentCache(build_copy, h).get([key])
    assert c0.shape == (1, 4, 64, 64)
    torch.testing.assert_close(c0, z0, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(c_lr, z_lr, rtol=1e-5, atol=1e-6)
    # A rerun skips committed shards; a shard without a marker is recomputed.
    st = out / "shard-000000.safetensors"
    before = os.stat(st).st_mtime_ns
    (out / "shard-000001.done.json").unlink()
    (out / ".tmp-shard-000001.safetensors.999").write_bytes(b"half")  # a killed writer's leftover
    with pytest.raises(FileNotFoundError, match="not committed"):
        LatentCache(build_copy, h)
    ensure_latent_cache(build_copy, tiny_base.vae, h)
    assert os.stat(st).st_mtime_ns == before
    assert (out / "shard-000001.done.json").is_file()
    assert not list(out.glob(".tmp-*"))
    with pytest.raises(KeyError, match="not in the latent cache"):
        LatentCache(build_copy, h).get(["s00009_i0000"])


def test_cached_run_gives_the_same_losses(cn_config, build_copy, tmp_path):
    # Whole 512 px patches (the cache stores whole-patch latents): ~1 s a sample-step on one core.
    common = dict(shards=str(build_copy), crop=0, max_steps=2, checkpoint_every=2, batch_size=1)
    plain = train_controlnet(cn_config(out=str(tmp_path / "plain"), **common))
    cached = train_controlnet(cn_config(out=str(tmp_path / "cached"), latent_cache=True, **common))
    assert len(list((build_copy / "latents").iterdir())) == 1  # the trainer found the same VAE hash
    assert all(torch.isfinite(torch.tensor(plain.losses)))
    torch.testing.assert_close(torch.tensor(cached.losses), torch.tensor(plain.losses),
                               rtol=1e-5, atol=1e-6)


def test_a_sample_the_cache_skipped_is_dropped_not_fatal(cn_config, cn_build, tiny_base, tmp_path):
    # Fault injection: one HR PNG of shard 0 replaced by garbage. The cache records it as
    # skipped; cached training must then drop it (as uncached training does), not stop with
    # "not in the latent cache".
    import tarfile

    root = shutil.copytree(cn_build, tmp_path / "shards")
    shard = root / "shard-000000.tar"
    with tarfile.open(shard) as tf:
        members = [(m, tf.extractfile(m).read()) for m in tf.getmembers()]
    with tarfile.open(shard, "w", format=tarfile.USTAR_FORMAT) as tf:
        for m, data in members:
            if m.name == "s00000_i0001.hr.png":
                data = b"not a png" * 10
                m.size = len(data)
            tf.addfile(m, io.BytesIO(data))
    h = module_hash(tiny_base.vae, "torch.float32")
    ensure_latent_cache(root, tiny_base.vae, h, batch_size=3)
    marker = json.loads((BuildInfo.of(root).latent_dir(h) / "shard-000000.done.json").read_text())
    assert list(marker["skipped"]) == ["s00000_i0001"]
    assert "s00000_i0001" not in LatentCache(root, h) and "s00000_i0000" in LatentCache(root, h)
    run = train_controlnet(cn_config(shards=str(root), out=str(tmp_path / "run"), crop=0, max_steps=4,
                                     checkpoint_every=4, batch_size=4, latent_cache=True))
    assert run.step == 4 and all(torch.isfinite(torch.tensor(run.losses)))
