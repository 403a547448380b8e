"""Fixed (parameter-free) measurements of blur, noise and JPEG per 8x8 LR block.

The three degrees are physical severities (docs/degradation.md): noise = the noise std left
in the LR after later linear gains, blur = a Gaussian-equivalent sigma in LR pixels, JPEG =
the quantizer factor. A from-scratch CNN has to discover how to measure them from a few
thousand patches; these maps hand it the measurements directly, one vector per 8x8 block,
so block (i, j) lines up with the conv trunk's token (i, j) (stride 8) and, when the final
JPEG came last, with the JPEG block grid of the LR itself.

Per block (all log-energies, ``log(mean(r^2) + 1e-8)``):

* 64 block-DCT coefficients of the luma (a fixed stride-8 DCT-II conv): JPEG zeroes and
  quantizes the high-frequency ones, blur attenuates them smoothly, noise fills them evenly;
* high-pass residual energy (x minus its 3x3 mean) of R, G, B, luma and the two chroma
  differences (grey vs colour noise), Laplacian energy, and the energy of two
  difference-of-box bands (3-5, 5-9, 9-17 px) of the luma: the falloff over scales is the blur;
* blockiness: squared luma step across the block's right / bottom edge and the mean
  squared step inside the block, horizontally and vertically.

Shapes: lr (B,3,H,W) float in [0,1] -> (B, num_stats, ceil(H/8), ceil(W/8)) float32 (other
sizes than multiples of 8 are padded at the bottom/right by replication).
"""

from __future__ import annotations

import math

import torch
from torch import nn

LUMA = (0.299, 0.587, 0.114)
EPS = 1e-8


def dct_basis(n: int = 8) -> torch.Tensor:
    """(n*n, 1, n, n) orthonormal 2-D DCT-II basis, row-major over (u, v)."""
    k = torch.arange(n, dtype=torch.float64)
    c = torch.cos(math.pi * (2 * k[None, :] + 1) * k[:, None] / (2 * n))    # (u, x)
    c[0] *= 1 / math.sqrt(2)
    c *= math.sqrt(2 / n)
    basis = c[:, None, :, None] * c[None, :, None, :]                       # (u, v, y, x)
    return basis.reshape(n * n, 1, n, n).float()


def box(x: torch.Tensor, k: int) -> torch.Tensor:
    p = k // 2
    return nn.functional.avg_pool2d(nn.functional.pad(x, (p, p, p, p), mode="reflect"), k, stride=1)


class BlockStats(nn.Module):
    """Parameter-free: lr (B,3,H,W) in [0,1] -> (B, NUM_STATS, H/8, W/8) float32 log-energies."""

    num_stats = 64 + 6 + 1 + 3 + 4

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("dct", dct_basis(8), persistent=False)
        self.register_buffer("luma", torch.tensor(LUMA).view(1, 3, 1, 1), persistent=False)
        lap = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])
        self.register_buffer("lap", lap.view(1, 1, 3, 3), persistent=False)

    @staticmethod
    def block_energy(r: torch.Tensor) -> torch.Tensor:
        """(B,C,H,W) -> (B,C,H/8,W/8) log mean square over each 8x8 block."""
        return torch.log(nn.functional.avg_pool2d(r * r, 8) + EPS)

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        x = lr.float() * 255.0                                  # JPEG's units: quantizer steps of ~1-100
        ph, pw = -x.shape[-2] % 8, -x.shape[-1] % 8
        if ph or pw:  # other sizes: ceil(H/8) x ceil(W/8) blocks, like the conv trunk's stride 8
            x = nn.functional.pad(x, (0, pw, 0, ph), mode="replicate")
        y = (x * self.luma).sum(1, keepdim=True)
        dct = torch.log(nn.functional.conv2d(y - 128.0, self.dct, stride=8) ** 2 + EPS)
        chroma = torch.cat([x[:, :1] - x[:, 1:2], x[:, 2:] - x[:, 1:2]], 1)
        hp = torch.cat([x, y, chroma], 1)
        hp = hp - box(hp, 3)
        lap = nn.functional.conv2d(nn.functional.pad(y, (1, 1, 1, 1), mode="reflect"), self.lap)
        b3, b5, b9, b17 = box(y, 3), box(y, 5), box(y, 9), box(y, 17)
        dh = nn.functional.pad(y[..., :, 1:] - y[..., :, :-1], (0, 1))    # step x -> x+1
        dv = nn.functional.pad(y[..., 1:, :] - y[..., :-1, :], (0, 0, 0, 1))
        col = torch.arange(x.shape[-1], device=x.device) % 8
        row = torch.arange(x.shape[-2], device=x.device) % 8
        edge_h, in_h = (col == 7).float().view(1, 1, 1, -1), ((col < 7).float() * 8 / 7).view(1, 1, 1, -1)
        edge_v, in_v = (row == 7).float().view(1, 1, -1, 1), ((row < 7).float() * 8 / 7).view(1, 1, -1, 1)
        # edge masks keep 1 of 8 columns: x8 makes the block mean the mean over that column.
        block = torch.cat([dh * edge_h * math.sqrt(8), dh * in_h.sqrt(), dv * edge_v * math.sqrt(8), dv * in_v.sqrt()], 1)
        maps = [dct, self.block_energy(hp), self.block_energy(lap),
                self.block_energy(torch.cat([b3 - b5, b5 - b9, b9 - b17], 1)), self.block_energy(block)]
        return torch.cat(maps, 1)


class StatsBranch(nn.Module):
    """BlockStats -> BatchNorm (batch statistics, not per image: the levels are the signal)
    -> per-block MLP (1x1 convs) -> (B, out, H/8, W/8); plus one global vector from the
    quantiles (10/25/50/75/90 %) of every statistic over the blocks, since e.g. the noise
    level is best read in the flattest blocks: (B, out)."""

    quantiles = (0.1, 0.25, 0.5, 0.75, 0.9)

    def __init__(self, out: int, hidden: int = 128) -> None:
        super().__init__()
        n = BlockStats.num_stats
        self.stats = BlockStats()
        self.norm = nn.BatchNorm2d(n)
        self.local = nn.Sequential(nn.Conv2d(n, hidden, 1), nn.GELU(), nn.Conv2d(hidden, out, 1))
        self.glob = nn.Sequential(nn.Linear(n * len(self.quantiles), hidden), nn.GELU(), nn.Linear(hidden, out))
        self.register_buffer("q", torch.tensor(self.quantiles), persistent=False)

    def forward(self, lr: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s = self.norm(self.stats(lr))                                    # (B, n, h, w)
        flat = s.flatten(2)                                              # (B, n, h*w)
        q = torch.quantile(flat, self.q, dim=-1)                         # (5, B, n)
        return self.local(s), self.glob(q.permute(1, 0, 2).flatten(1))
