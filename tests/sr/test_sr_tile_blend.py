"""Latent tiling against the Gaussian blending written out here in numpy, tile by tile.

The stand-in denoiser is a 3x3 convolution (zero padding at the tile's border) plus a ramp
over the rows of the tile it is given: its output on a cell depends on the cell's
neighbourhood and on where the cell sits in its tile, so the blending weights do not cancel
(a pointwise model would pass with any weights). The reference, from the formula in
``sr/tiling.py``'s docstring:

    starts along a side of n cells, tile t:   0, s, 2s, ... (s = t - overlap) while < n - t,
                                              then n - t (the last tile ends at the edge)
    w(i) = exp(-(i - (t-1)/2)^2 / (2 sigma^2)) / sqrt(2 pi sigma^2),  sigma = 0.1 t
    out  = sum_tiles w_y w_x eps_tile / sum_tiles w_y w_x
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dalpsr_model.diffusion.tiling import tiled_predict


def _conv_model(seed: int = 0):
    """model(z, z_lr, repeats) -> (N, 4, h, w): conv over [z, z_lr] + a ramp over the tile's rows."""
    g = torch.Generator().manual_seed(seed)
    weight = torch.randn(4, 8, 3, 3, generator=g, dtype=torch.float64) / 6.0
    bias = torch.randn(4, generator=g, dtype=torch.float64) * 0.1

    def model(z, z_lr, repeats):
        assert z.shape == z_lr.shape and z.shape[0] % repeats == 0
        x = torch.cat([z, z_lr], dim=1).double()
        ramp = torch.linspace(-0.5, 0.5, z.shape[-2], dtype=torch.float64).view(1, 1, -1, 1)
        return (F.conv2d(x, weight, bias, padding=1) + ramp).float()
    return model


def _starts(n: int, t: int, overlap: int) -> list[int]:
    if t >= n:
        return [0]
    out, s = [], 0
    while s < n - t:
        out.append(s)
        s += t - overlap
    return out + [n - t]


def _gauss(n: int) -> np.ndarray:
    i = np.arange(n, dtype=np.float64)
    sigma = 0.1 * n
    return np.exp(-(i - (n - 1) / 2) ** 2 / (2 * sigma ** 2)) / np.sqrt(2 * np.pi * sigma ** 2)


def _blend_by_hand(model, z, z_lr, tile, overlap, uniform=False):
    """(B, 4, H, W) float64 numpy: every tile through ``model`` alone, blended in numpy."""
    b, c, h, w = z.shape
    th, tw = min(tile, h), min(tile, w)
    wy, wx = (np.ones(th), np.ones(tw)) if uniform else (_gauss(th), _gauss(tw))
    weight = np.outer(wy, wx)
    num, den = np.zeros((b, c, h, w)), np.zeros((h, w))
    for y in _starts(h, th, overlap):
        for x in _starts(w, tw, overlap):
            with torch.no_grad():
                eps = model(z[:, :, y:y + th, x:x + tw], z_lr[:, :, y:y + th, x:x + tw], 1).double().numpy()
            num[:, :, y:y + th, x:x + tw] += eps * weight
            den[y:y + th, x:x + tw] += weight
    return num / den


@pytest.mark.parametrize("h,w,batch,tile,overlap,tile_batch", [
    (40, 56, 2, 24, 8, 3),     # 3 x 3 tiles, 1 tile per call (tile_batch < 2 images x 2)
    (33, 70, 1, 20, 6, 5),     # odd sides, last tiles anchored at the edge, 5 tiles per call
    (50, 30, 3, 16, 4, 12),    # 4 x 2 tiles of 3 images, 4 tiles per call
    (24, 61, 2, 24, 12, 64),   # one row of tiles (h == tile), all tiles in one call
    (19, 45, 1, 32, 10, 2),    # tile taller than the latent: tiles of 19 x 32
])
def test_tiled_predict_equals_gaussian_blend_written_out(h, w, batch, tile, overlap, tile_batch):
    g = torch.Generator().manual_seed(h * w)
    z, z_lr = torch.randn(batch, 4, h, w, generator=g), torch.randn(batch, 4, h, w, generator=g)
    model = _conv_model()
    ours = tiled_predict(model, z, z_lr, tile=tile, overlap=overlap, tile_batch=tile_batch)
    ref = _blend_by_hand(model, z, z_lr, tile, overlap)
    assert ours.dtype == torch.float32 and ours.shape == (batch, 4, h, w)
    np.testing.assert_allclose(ours.double().numpy(), ref, rtol=0, atol=2e-5)
    # The model tells blendings apart: equal weights give another result.
    assert np.abs(_blend_by_hand(model, z, z_lr, tile, overlap, uniform=True) - ref).max() > 1e-2


def test_a_latent_within_one_tile_is_one_call_of_the_model():
    z = torch.randn(2, 4, 20, 24, generator=torch.Generator().manual_seed(5))
    model = _conv_model()
    torch.testing.assert_close(tiled_predict(model, z, -z, tile=24, overlap=8, tile_batch=4), model(z, -z, 1),
                               rtol=0, atol=0)
