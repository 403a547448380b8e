"""IRPAD (paper Sec. III.B.2, Fig. 1a): degradation prompts retrieve from image features.

Twelve prompt queries (3 types x 4 bins) attend to the trunk's image tokens through
``blocks`` blocks of cross-attention + feed-forward; a linear head scores every query;
per type the 4 scores are the logits of a 4-way classification of the bin.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from dalpsr_data.schema import DEGRADATION_TYPES, NUM_BINS
from dalpsr_model.irpad.trunk import ConvTrunk, TimmTrunk

NUM_QUERIES = len(DEGRADATION_TYPES) * NUM_BINS


@dataclass(frozen=True)
class IrpadArch:
    """Architecture; saved as irpad.json next to the weights so the predictor can rebuild it."""

    trunk: str = "conv"          # conv (from scratch) | timm (pretrained CNN from a local file)
    width: int = 16              # conv trunk base width (stages: 1, 2, 4, 8 x width)
    stats: bool = False          # conv trunk: add fixed per-block blur/noise/JPEG measurements (stats.py);
                                 # False here so irpad.json files written before it load unchanged
    timm_model: str = "resnet18"
    dim: int = 128               # query / token width
    heads: int = 4
    blocks: int = 2
    text_dim: int = 0            # >0: queries come from fixed text-encoder embeddings of this width


class CrossBlock(nn.Module):
    """Pre-norm cross-attention (queries <- image tokens) then feed-forward, both residual."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.norm_q, self.norm_kv, self.norm_ff = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.ff = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, q: torch.Tensor, kv: torch.Tensor) -> torch.Tensor:
        kv = self.norm_kv(kv)
        q = q + self.attn(self.norm_q(q), kv, kv, need_weights=False)[0]
        return q + self.ff(self.norm_ff(q))


class Irpad(nn.Module):
    """forward(lr (B,3,H,W) float in [0,1]) -> logits (B, 3, 4) float32 (type, bin)."""

    def __init__(self, arch: IrpadArch, text_embeddings: torch.Tensor | None = None,
                 trunk: nn.Module | None = None) -> None:
        """``trunk``: a trunk already built for ``arch`` (a timm trunk with its pretrained
        weights); None builds ``arch``'s own with random weights."""
        super().__init__()
        self.arch = arch
        match arch.trunk if trunk is None else "given":
            case "given":
                self.trunk = trunk
            case "conv":
                self.trunk = ConvTrunk(arch.width, arch.stats)
            case "timm":
                self.trunk = TimmTrunk(arch.timm_model)
            case other:
                raise ValueError(f"unknown IRPAD trunk {other!r}: use conv or timm")
        self.tokens = nn.Sequential(nn.Linear(self.trunk.out_dim, arch.dim), nn.LayerNorm(arch.dim))
        if arch.text_dim > 0:
            emb = text_embeddings if text_embeddings is not None else torch.zeros(NUM_QUERIES, arch.text_dim)
            if tuple(emb.shape) != (NUM_QUERIES, arch.text_dim):
                raise ValueError(f"text embeddings must be ({NUM_QUERIES}, {arch.text_dim}), got {tuple(emb.shape)}")
            # Kept in the state dict, so a trained IRPAD needs no text encoder to run.
            self.register_buffer("prompt_embeddings", emb.detach().float().clone())
            self.query_proj = nn.Sequential(nn.LayerNorm(arch.text_dim), nn.Linear(arch.text_dim, arch.dim))
        else:
            # Unit-scale, distinct queries: with tiny ones every bin would read the same image
            # evidence and get the same score (a saddle that CE takes long to leave).
            self.queries = nn.Parameter(torch.randn(NUM_QUERIES, arch.dim))
        self.blocks = nn.ModuleList(CrossBlock(arch.dim, arch.heads) for _ in range(arch.blocks))
        self.norm = nn.LayerNorm(arch.dim)
        self.score = nn.Linear(arch.dim, 1)

    def query_embeddings(self) -> torch.Tensor:
        """(12, dim) queries, type-major like prompts.degradation_prompts()."""
        if self.arch.text_dim > 0:
            return self.query_proj(self.prompt_embeddings)
        return self.queries

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        kv = self.tokens(self.trunk(lr))
        q = self.query_embeddings().unsqueeze(0).expand(lr.shape[0], -1, -1)
        for block in self.blocks:
            q = block(q, kv)
        scores = self.score(self.norm(q)).squeeze(-1)          # (B, 12)
        return scores.view(-1, len(DEGRADATION_TYPES), NUM_BINS).float()


def soft_bin_targets(degrees: torch.Tensor, sigma: float) -> torch.Tensor:
    """(B,3) degrees in [0,1] -> (B,3,4) soft targets: the probability that degree + N(0, sigma^2)
    falls in each bin (the outer bins take the tails). The bins are quartiles of a continuous
    degree, so a sample at 0.49 is nearly as much bin 2 as bin 1; hard labels call that a full
    error and make the model memorise content. sigma is in degree units (bin width 0.25)."""
    edges = torch.tensor([0.25, 0.5, 0.75], device=degrees.device, dtype=torch.float32)
    cdf = 0.5 * (1 + torch.erf((edges - degrees.float()[..., None]) / (sigma * 2 ** 0.5)))   # (B,3,3)
    cdf = torch.cat([torch.zeros_like(cdf[..., :1]), cdf, torch.ones_like(cdf[..., :1])], -1)
    return (cdf[..., 1:] - cdf[..., :-1]).clamp_min(0)


def irpad_loss(logits: torch.Tensor, bins: torch.Tensor, degrees: torch.Tensor | None = None,
               label_sigma: float = 0.0) -> tuple[torch.Tensor, dict[str, float]]:
    """Mean over types of the 4-way cross-entropy; logits (B,3,4), bins (B,3) int64.

    With ``degrees`` (B,3) float in [0,1] and ``label_sigma`` > 0 the targets are
    :func:`soft_bin_targets` instead of the one-hot bins."""
    # cross_entropy takes class indices (B,) or class probabilities (B,4) alike
    target = soft_bin_targets(degrees, label_sigma) if label_sigma > 0 and degrees is not None else bins
    per_type = [nn.functional.cross_entropy(logits[:, t], target[:, t]) for t in range(logits.shape[1])]
    logs = {f"ce_{name}": float(v.detach()) for name, v in zip(DEGRADATION_TYPES, per_type)}
    return torch.stack(per_type).mean(), logs
