"""Latent tiling of the noise prediction for latents larger than one tile.

A latent larger than ``tile`` x ``tile`` cells is covered by tiles of ``tile`` cells (or
the latent's side when that is smaller) spaced ``tile - overlap`` apart; the last tile of a
row/column is anchored at the edge, so every tile is full size. Each tile's prediction is
weighted by a separable Gaussian (sigma = 0.1 x tile side, centred on the tile) and the
weighted sum is divided by the summed weights, which blends the seams. Tiles go through
the model ``tile_batch`` at a time (tiles of all images in the batch together).

A latent that fits in one tile takes the untiled path: one model call on the whole latent.
"""

from __future__ import annotations

import math
from typing import Any, Callable

SIGMA_FRACTION = 0.1  # SeeSR/StableSR: var = 0.01 in units of the tile side

# model(z (N,4,h,w), z_lr (N,4,h,w), batch_repeats) -> eps (N,4,h,w): N = batch_repeats x B,
# tile-major (tile 0 of every image, then tile 1, ...); the caller repeats its per-image
# inputs (text embeddings) batch_repeats times.
TileModel = Callable[[Any, Any, int], Any]


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets along one axis: stride ``tile - overlap``, last tile ending at ``length``."""
    if tile >= length:
        return [0]
    stride = tile - overlap
    starts = list(range(0, length - tile, stride))
    starts.append(length - tile)
    return starts


def gaussian_weights(height: int, width: int) -> Any:
    """(height, width) float32 separable Gaussian, sigma = 0.1 x side, peak at the centre."""
    import torch

    def axis(n: int) -> Any:
        x = torch.arange(n, dtype=torch.float64)
        mid = (n - 1) / 2
        sigma = SIGMA_FRACTION * n
        return torch.exp(-((x - mid) ** 2) / (2 * sigma * sigma)) / math.sqrt(2 * math.pi * sigma * sigma)

    return torch.outer(axis(height), axis(width)).float()


def needs_tiling(height: int, width: int, tile: int) -> bool:
    """True when a (height, width) latent does not fit in one tile."""
    return height > tile or width > tile


def tile_grid(height: int, width: int, tile: int, overlap: int) -> list[tuple[int, int, int, int]]:
    """(y, x, tile_h, tile_w) of every tile, row-major."""
    th, tw = min(tile, height), min(tile, width)
    return [(y, x, th, tw) for y in tile_starts(height, th, overlap) for x in tile_starts(width, tw, overlap)]


def tile_count(height: int, width: int, tile: int, overlap: int) -> int:
    """Model evaluations per step of a (height, width) latent: its tiles, or 1 untiled."""
    return len(tile_grid(height, width, tile, overlap)) if needs_tiling(height, width, tile) else 1


def tiled_predict(model: TileModel, z: Any, z_lr: Any, tile: int, overlap: int, tile_batch: int,
                  on_tiles: Callable[[int], None] | None = None) -> Any:
    """Noise prediction (B, 4, H, W) of ``model`` over ``z``/``z_lr`` (B, 4, H, W), tiled if needed.

    Returns the model's own output (untiled) or the Gaussian-blended tiles in fp32.
    ``on_tiles(n)`` is told after each model call how many tiles it evaluated (1 untiled).
    """
    import torch

    b, _, height, width = z.shape
    if not needs_tiling(height, width, tile):
        eps = model(z, z_lr, 1)
        if on_tiles is not None:
            on_tiles(1)
        return eps
    grid = tile_grid(height, width, tile, overlap)
    th, tw = grid[0][2], grid[0][3]
    weights = gaussian_weights(th, tw).to(z.device)
    out = torch.zeros(z.shape, dtype=torch.float32, device=z.device)
    total = torch.zeros((height, width), dtype=torch.float32, device=z.device)
    per_call = max(1, tile_batch // b)  # tiles per model call
    for i in range(0, len(grid), per_call):
        chunk = grid[i:i + per_call]
        zs = torch.cat([z[:, :, y:y + th, x:x + tw] for y, x, _, _ in chunk])
        cs = torch.cat([z_lr[:, :, y:y + th, x:x + tw] for y, x, _, _ in chunk])
        eps = model(zs, cs, len(chunk)).float()
        for k, (y, x, _, _) in enumerate(chunk):
            out[:, :, y:y + th, x:x + tw] += eps[k * b:(k + 1) * b] * weights
            total[y:y + th, x:x + tw] += weights
        if on_tiles is not None:
            on_tiles(len(chunk))
    return out / total
