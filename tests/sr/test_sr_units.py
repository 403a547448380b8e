"""Size rules, latent tiling and the colour fixes of `dalpsr-sr`, against written-out references."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from dalpsr_model.sr.colorfix import adain, color_fix, wavelet
from dalpsr_model.sr.sizes import plan_size
from dalpsr_model.diffusion.tiling import gaussian_weights, tile_grid, tile_starts, tiled_predict


@pytest.mark.parametrize("w,h,work,target,final", [
    (100, 75, (170, 128), (680, 512), (400, 300)),    # the example
    (128, 128, (128, 128), (512, 512), (512, 512)),   # a 512 px output, nothing resized
    (131, 257, (131, 257), (520, 1024), (524, 1028)),  # odd sides: target rounded down to 8
    (37, 250, (128, 864), (512, 3456), (148, 1000)),  # short side 37 -> 128 (ratio 128/37)
])
def test_size_rules(w, h, work, target, final):
    plan = plan_size(w, h)
    assert plan.lr_work == work and plan.target == target and plan.final == final
    assert plan.target[0] % 8 == 0 and plan.target[1] % 8 == 0
    # target = 4 x work rounded down to a multiple of 8, written out
    assert plan.target == (4 * work[0] // 8 * 8, 4 * work[1] // 8 * 8)


def test_tile_starts_cover_and_anchor_last_tile():
    assert tile_starts(96, 96, 32) == [0]
    assert tile_starts(64, 96, 32) == [0]
    starts = tile_starts(200, 96, 32)
    assert starts == [0, 64, 104]                 # stride 64, last tile ends at 200
    assert starts[-1] + 96 == 200
    covered = np.zeros(200, bool)
    for s in starts:
        covered[s:s + 96] = True
    assert covered.all()


def test_gaussian_weights_formula():
    w = gaussian_weights(96, 80)
    sy, sx = 0.1 * 96, 0.1 * 80
    y, x = 10, 70
    expected = (math.exp(-(y - 47.5) ** 2 / (2 * sy * sy)) / math.sqrt(2 * math.pi * sy * sy)
                * math.exp(-(x - 39.5) ** 2 / (2 * sx * sx)) / math.sqrt(2 * math.pi * sx * sx))
    assert w.shape == (96, 80)
    assert float(w[y, x]) == pytest.approx(expected, rel=1e-5)


def _pointwise(calls):
    """A stand-in denoiser that acts on each latent cell alone: tiling cannot change it."""
    def model(z, z_lr, repeats):
        calls.append((tuple(z.shape), repeats))
        return torch.tanh(z) * 2.0 - 0.5 * z_lr
    return model


@pytest.mark.parametrize("h,w,batch", [(200, 130, 2), (97, 300, 1), (140, 64, 3)])
def test_tiled_equals_untiled_for_pointwise_model(h, w, batch):
    g = torch.Generator().manual_seed(0)
    z, z_lr = torch.randn(batch, 4, h, w, generator=g), torch.randn(batch, 4, h, w, generator=g)
    calls = []
    tiled = tiled_predict(_pointwise(calls), z, z_lr, tile=96, overlap=32, tile_batch=8)
    assert all(shape[-2] <= 96 and shape[-1] <= 96 for shape, _ in calls)
    n_tiles = len(tile_grid(h, w, 96, 32))
    assert n_tiles > 1
    assert sum(r for _, r in calls) == n_tiles      # every tile once, tiles batched
    reference = torch.tanh(z) * 2.0 - 0.5 * z_lr
    torch.testing.assert_close(tiled, reference, rtol=1e-5, atol=1e-5)


def test_tile_at_least_latent_takes_untiled_path():
    z = torch.randn(2, 4, 64, 90)
    calls = []
    out = tiled_predict(_pointwise(calls), z, z, tile=96, overlap=32, tile_batch=8)
    assert calls == [((2, 4, 64, 90), 1)]           # one call on the whole latent
    assert torch.equal(out, torch.tanh(z) * 2.0 - 0.5 * z)


def test_adain_gives_reference_channel_statistics():
    g = torch.Generator().manual_seed(1)
    sr = torch.rand(2, 3, 40, 56, generator=g) * 0.5 + 0.2
    ref = torch.rand(2, 3, 40, 56, generator=g) ** 2
    out = adain(sr, ref).numpy().astype(np.float64)
    r = ref.numpy().astype(np.float64)
    np.testing.assert_allclose(out.mean(axis=(2, 3)), r.mean(axis=(2, 3)), atol=1e-5)
    np.testing.assert_allclose(out.std(axis=(2, 3)), r.std(axis=(2, 3)), atol=1e-5)
    # the structure is the SR's: standardized channels are equal
    s = sr.numpy().astype(np.float64)
    z_sr = (s - s.mean(axis=(2, 3), keepdims=True)) / s.std(axis=(2, 3), keepdims=True)
    z_out = (out - out.mean(axis=(2, 3), keepdims=True)) / out.std(axis=(2, 3), keepdims=True)
    np.testing.assert_allclose(z_out, z_sr, atol=1e-4)


def test_wavelet_fix_of_x_with_itself_is_x():
    x = torch.rand(1, 3, 64, 48, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(wavelet(x, x), x, rtol=0, atol=1e-6)


def test_wavelet_takes_low_frequency_from_reference():
    g = torch.Generator().manual_seed(3)
    sr = torch.rand(1, 3, 64, 64, generator=g)
    shifted = sr + 0.2                               # a colour cast: constant offset
    torch.testing.assert_close(wavelet(sr, shifted), shifted, rtol=0, atol=1e-5)
    assert color_fix(sr, shifted, "none") is sr


def test_a_1024px_input_goes_through_tiling():
    from dalpsr_model.diffusion.tiling import needs_tiling

    plan = plan_size(1024, 1024)
    assert plan.final == (4096, 4096) and plan.latent == (512, 512)
    assert needs_tiling(512, 512, 96) and len(tile_grid(512, 512, 96, 32)) == 64
    assert not needs_tiling(*plan_size(128, 128).latent, 96)   # a 512 px output never is


def test_pipeline_tiles_a_large_latent_and_not_a_512px_output(sr_models, sr_config, tmp_path, monkeypatch):
    """The pipeline's tiled path, made cheap on CPU by a 48-cell tile on a 64-cell latent."""
    import dalpsr_model.diffusion.sampler as sampler
    from dalpsr_model.sr.pipeline import SRPipeline
    from tests.sr.conftest import smooth_image

    seen = []
    real = sampler.tiled_predict

    def spy(model, z, z_lr, tile, overlap, tile_batch, on_tiles=None):
        def counted(zs, cs, repeats):
            seen.append(tuple(zs.shape[-2:]))
            return model(zs, cs, repeats)
        return real(counted, z, z_lr, tile, overlap, tile_batch, on_tiles)

    monkeypatch.setattr(sampler, "tiled_predict", spy)
    tiled = SRPipeline.load(sr_config([tmp_path], steps=1, tile=48, tile_overlap=16, vae_tiling_above=256))
    out = tiled([smooth_image(0, 128, 128)], ["Deblur"], [""], ["k"])[0]
    assert out.shape == (512, 512, 3) and seen and set(seen) == {(48, 48)}
    assert tiled.base.vae.use_tiling                       # 512 px > --vae-tiling-above 256
    seen.clear()
    plain = SRPipeline.load(sr_config([tmp_path], steps=1))
    out = plain([smooth_image(1, 128, 128)], ["Deblur"], [""], ["k"])[0]
    assert out.shape == (512, 512, 3) and seen == [(64, 64)]   # default tile 96: one untiled call
    assert not plain.base.vae.use_tiling
