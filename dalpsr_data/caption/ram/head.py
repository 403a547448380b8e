"""The RAM tagging head: label queries cross-attend to image tokens (Query2Label style).

Only what the official model keeps after ``del_selfattention``: per layer a
cross-attention block and a feed-forward block, each with a post-norm residual
(LayerNorm(x + f(x)), eps 1e-12, exact GELU). No embeddings, no self-attention.
Attribute names follow the official BERT layout so checkpoint keys map one to one:
``encoder.layer.{i}.crossattention.self.{query,key,value}``,
``encoder.layer.{i}.crossattention.output.{dense,LayerNorm}``,
``encoder.layer.{i}.intermediate.dense``, ``encoder.layer.{i}.output.{dense,LayerNorm}``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

LAYER_NORM_EPS = 1e-12


class _CrossAttentionProjections(nn.Module):
    def __init__(self, hidden: int, kv_width: int) -> None:
        super().__init__()
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(kv_width, hidden)
        self.value = nn.Linear(kv_width, hidden)


class _DenseNorm(nn.Module):
    """dense -> residual add -> LayerNorm (BERT's SelfOutput / Output)."""

    def __init__(self, in_width: int, hidden: int) -> None:
        super().__init__()
        self.dense = nn.Linear(in_width, hidden)
        self.LayerNorm = nn.LayerNorm(hidden, eps=LAYER_NORM_EPS)

    def forward(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dense(x) + residual)


class _CrossAttention(nn.Module):
    def __init__(self, hidden: int, kv_width: int) -> None:
        super().__init__()
        self.self = _CrossAttentionProjections(hidden, kv_width)
        self.output = _DenseNorm(hidden, hidden)


class _Intermediate(nn.Module):
    def __init__(self, hidden: int, ffn: int) -> None:
        super().__init__()
        self.dense = nn.Linear(hidden, ffn)


class TaggingLayer(nn.Module):
    def __init__(self, hidden: int, kv_width: int, ffn: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.crossattention = _CrossAttention(hidden, kv_width)
        self.intermediate = _Intermediate(hidden, ffn)
        self.output = _DenseNorm(ffn, hidden)

    def forward(self, queries: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        """queries (B, T, H), memory (B, N, K) -> (B, T, H)."""
        proj = self.crossattention.self
        b, t, h = queries.shape

        def split(x: torch.Tensor) -> torch.Tensor:  # (B, S, H) -> (B, heads, S, H/heads)
            return x.view(b, x.shape[1], self.heads, h // self.heads).transpose(1, 2)

        ctx = F.scaled_dot_product_attention(split(proj.query(queries)), split(proj.key(memory)),
                                             split(proj.value(memory)))
        ctx = ctx.transpose(1, 2).reshape(b, t, h)
        x = self.crossattention.output(ctx, queries)
        return self.output(F.gelu(self.intermediate.dense(x)), x)


class _Encoder(nn.Module):
    def __init__(self, layers: list[TaggingLayer]) -> None:
        super().__init__()
        self.layer = nn.ModuleList(layers)


class TaggingHead(nn.Module):
    """``num_layers`` cross-attention layers; forward(queries, memory) -> (B, T, hidden)."""

    def __init__(self, hidden: int, kv_width: int, ffn: int, num_layers: int, heads: int) -> None:
        super().__init__()
        self.encoder = _Encoder([TaggingLayer(hidden, kv_width, ffn, heads) for _ in range(num_layers)])

    def forward(self, queries: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        x = queries
        for layer in self.encoder.layer:
            x = layer(x, memory)
        return x
