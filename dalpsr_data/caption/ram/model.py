"""RAM / RAM++ as one module: Swin encoder -> image_proj -> tagging head -> fc.

Module names follow the official checkpoints after their loader's renaming
(``visual_encoder`` in timm's Swin layout, ``image_proj``, ``label_embed``,
``wordvec_proj``, ``tagging_head``, ``fc``, RAM++ ``reweight_scale``), so a renamed
state dict loads with ``strict=True``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from dalpsr_data.caption.ram.arch import HEAD_ATTENTION_HEADS, RamArch
from dalpsr_data.caption.ram.head import TaggingHead

DEFAULT_REWEIGHT_SCALE = math.log(1 / 0.07)  # RAM++'s initial value, used when absent


def build_swin_encoder(arch: RamArch) -> nn.Module:
    """timm SwinTransformer with the RAM encoder's sizes and no classifier."""
    from timm.models.swin_transformer import SwinTransformer

    return SwinTransformer(
        img_size=arch.image_size, patch_size=arch.patch_size, embed_dim=arch.embed_dim,
        depths=arch.depths, num_heads=arch.num_heads, window_size=arch.window_size,
        mlp_ratio=4.0, qkv_bias=True, num_classes=0, drop_path_rate=0.0)


def swin_tokens(encoder: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """RAM's image tokens: images (B, 3, S, S) normalised -> (B, 1 + L, vision_width).

    Token 0 is the mean of the L final-stage tokens (the official encoder prepends its
    average pool); the rest are the (S/32)^2 final-stage tokens in row-major order.
    """
    x = encoder.forward_features(images)  # (B, h, w, C), already layer-normed
    x = x.flatten(1, 2)
    return torch.cat([x.mean(dim=1, keepdim=True), x], dim=1)


class RamModel(nn.Module):
    """forward(images (B, 3, S, S) float, ImageNet-normalised) -> logits (B, num_tags) fp32."""

    def __init__(self, arch: RamArch) -> None:
        super().__init__()
        self.arch = arch
        self.visual_encoder = build_swin_encoder(arch)
        self.image_proj = nn.Linear(arch.vision_width, arch.label_width)
        rows = arch.num_tags * arch.descriptions_per_tag
        self.label_embed = nn.Parameter(torch.zeros(rows, arch.label_width))
        self.wordvec_proj = (nn.Linear(arch.label_width, arch.head_hidden)
                             if arch.has_wordvec_proj else nn.Identity())
        self.tagging_head = TaggingHead(arch.head_hidden, arch.label_width, arch.head_ffn,
                                        arch.head_layers, HEAD_ATTENTION_HEADS)
        self.fc = nn.Linear(arch.head_hidden, 1)
        if arch.variant == "ram_plus":
            self.reweight_scale = nn.Parameter(torch.tensor(DEFAULT_REWEIGHT_SCALE))

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, S, S) -> projected image tokens (B, 1 + L, label_width)."""
        tokens = swin_tokens(self.visual_encoder, images)
        return self.image_proj(tokens.to(self.image_proj.weight.dtype))

    def label_queries(self, image_embeds: torch.Tensor) -> torch.Tensor:
        """Per-image label queries (B, T, head_hidden).

        RAM: one embedding per tag. RAM++: the tag's D description embeddings, weighted
        by a softmax of their similarity to the normalised image token 0.
        """
        b = image_embeds.shape[0]
        embed = self.label_embed.float()
        if self.arch.variant == "ram":
            labels = embed.unsqueeze(0).expand(b, -1, -1)
        else:
            d = self.arch.descriptions_per_tag
            cls = F.normalize(image_embeds[:, 0].float(), dim=-1)  # (B, W)
            sims = self.reweight_scale.float().exp() * cls @ embed.t()  # (B, T*D)
            weights = sims.view(b, -1, d).softmax(dim=-1)  # (B, T, D)
            labels = torch.einsum("btd,tdw->btw", weights, embed.view(-1, d, embed.shape[-1]))
        return F.relu(self.wordvec_proj(labels))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        image_embeds = self.encode(images)
        # The head and logits run in fp32 even when the encoder is bf16: thresholds
        # sit close to 0.5-0.9 and bf16 logits would flip tags.
        with torch.autocast(device_type=images.device.type, enabled=False):
            memory = image_embeds.float()
            queries = self.label_queries(memory)
            out = self.tagging_head(queries, memory)
            return self.fc(out).squeeze(-1)
