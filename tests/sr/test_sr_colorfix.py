"""The colour fixes against their published definitions written out in numpy, and in `dalpsr-sr`.

Wavelet fix (StableSR's ``wavelet_reconstruction``, reused by SeeSR's
``utils/wavelet_color_fix.py``): 5 levels; level i blurs the previous level's low band with
the 3x3 kernel [1 2 1]^T [1 2 1] / 16 dilated by 2**i, the image padded by 2**i with edge
replication; the high band is the sum of (low_{i} - low_{i+1}); the result is the SR's high
band plus the reference's last low band. AdaIN (population std, as ``sr/colorfix.py``
documents): (sr - mean_sr) / std_sr * std_ref + mean_ref per image and channel.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dalpsr_model.sr.colorfix import color_fix, wavelet

KERNEL_1D = np.array([1.0, 2.0, 1.0]) / 4.0


def _blur_by_hand(x: np.ndarray, r: int) -> np.ndarray:
    """(B, C, H, W) float64: the 3x3 binomial kernel with taps r apart, edge-replicated border."""
    h, w = x.shape[-2:]
    p = np.pad(x, ((0, 0), (0, 0), (r, r), (r, r)), mode="edge")
    out = np.zeros_like(x)
    for i, ky in enumerate(KERNEL_1D):
        for j, kx in enumerate(KERNEL_1D):
            out += ky * kx * p[:, :, i * r:i * r + h, j * r:j * r + w]
    return out


def _bands_by_hand(x: np.ndarray, levels: int = 5) -> tuple[np.ndarray, np.ndarray]:
    high, low = np.zeros_like(x), x
    for i in range(levels):
        blurred = _blur_by_hand(low, 2 ** i)
        high, low = high + (low - blurred), blurred
    return high, low


def wavelet_by_hand(sr: np.ndarray, ref: np.ndarray) -> np.ndarray:
    return _bands_by_hand(sr)[0] + _bands_by_hand(ref)[1]


def adain_by_hand(sr: np.ndarray, ref: np.ndarray) -> np.ndarray:
    m = dict(axis=(2, 3), keepdims=True)
    return (sr - sr.mean(**m)) / sr.std(**m) * ref.std(**m) + ref.mean(**m)


def _pair(shape, seed):
    g = torch.Generator().manual_seed(seed)
    sr = torch.rand(shape, generator=g)
    # a smooth reference with another colour: blocky values, upsampled
    ref = F.interpolate(torch.rand(shape[0], 3, 4, 5, generator=g), size=shape[-2:], mode="bilinear")
    return sr, ref


@pytest.mark.parametrize("shape", [(1, 3, 64, 48), (2, 3, 37, 53), (1, 3, 130, 96)])
def test_wavelet_equals_the_published_definition_written_out(shape):
    sr, ref = _pair(shape, sum(shape))
    expected = wavelet_by_hand(sr.double().numpy(), ref.double().numpy())
    np.testing.assert_allclose(wavelet(sr, ref).double().numpy(), expected, rtol=0, atol=1e-5)
    np.testing.assert_allclose(color_fix(sr, ref, "wavelet").double().numpy(), expected, rtol=0, atol=1e-5)
    # the fix moves the colour: far from the SR itself
    assert np.abs(expected - sr.double().numpy()).max() > 0.1


def _upsampled(lr_uint8: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The reference of the fix: the LR bicubic-upsampled to the SR (torch's own), clamped."""
    t = torch.from_numpy(lr_uint8).permute(2, 0, 1)[None].double() / 255.0
    return F.interpolate(t, size=size, mode="bicubic", align_corners=False).clamp(0, 1).numpy()


@pytest.mark.parametrize("method", ["adain", "wavelet"])
def test_dalpsr_sr_applies_the_colour_fix(method, sr_config, tmp_path, monkeypatch):
    """The pipeline's PNG is the fix written out here applied to its decoded SR (a skipped or
    wrong fix fails); 128 px in, 512 px out, so no final resize is involved."""
    import dalpsr_model.diffusion.sampler as sampler
    import dalpsr_model.sr.pipeline as pipeline
    from tests.sr.conftest import smooth_image

    decoded = []
    real_decode = sampler.decode  # the SR sampler's VAE decode, before the pipeline's colour fix

    def spy(vae, z):
        decoded.append(real_decode(vae, z))
        return decoded[-1]

    monkeypatch.setattr(sampler, "decode", spy)
    lr = smooth_image(3, 128, 128)
    pipe = pipeline.SRPipeline.load(sr_config([tmp_path], steps=1, color_fix=method))
    out = pipe([lr], ["Deblur"], [""], ["k"])[0]
    raw = decoded[0].double().numpy()
    fix = {"adain": adain_by_hand, "wavelet": wavelet_by_hand}[method]
    expected = np.round(np.clip(fix(raw, _upsampled(lr, (512, 512))), 0, 1) * 255.0)[0].transpose(1, 2, 0)
    assert out.shape == (512, 512, 3) and out.dtype == np.uint8
    diff = np.abs(out.astype(np.float64) - expected)
    assert diff.max() <= 1 and (diff > 0).mean() < 1e-3  # float32 vs float64 rounding ties only
    unfixed = np.round(raw[0].transpose(1, 2, 0) * 255.0)
    assert np.abs(unfixed - expected).mean() > 5  # without the fix the PNG would differ
