"""Image trunks of IRPAD: LR image (B,3,H,W) in [0,1] -> tokens (B, N, C).

The default, :class:`ConvTrunk`, is built for what separates blur, noise and JPEG in a
128x128 LR crop: all three live in the highest frequencies (noise: pixel-level variance,
blur: missing edge energy, JPEG: 8x8 block edges and ringing). So

* the input gets a high-pass residual (image minus its 3x3 mean) as 3 extra channels,
  amplified so the cue is not swamped by image content at initialisation;
* the first stage runs at full resolution with no pooling, and a learned 8x8 "grid
  phase" embedding tells later layers where each pixel sits in the JPEG block grid (the
  build compresses the LR itself, so its blocks align with the crop);
* normalisation is BatchNorm, not per-image Group/LayerNorm: per-image normalisation would
  divide out the energy of the high-pass responses, i.e. the noise/blur level itself;
* three stride-2 stages then bring it to (H/8)x(W/8) tokens.
"""

from __future__ import annotations

import torch
from torch import nn

from dalpsr_model.irpad.stats import StatsBranch

HIGHPASS_GAIN = 8.0


def conv_bn(a: int, b: int, stride: int = 1) -> nn.Sequential:
    conv = nn.Conv2d(a, b, 3, stride=stride, padding=1, bias=False)
    nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
    return nn.Sequential(conv, nn.BatchNorm2d(b))


class ResBlock(nn.Module):
    """(conv-BN-GELU-conv-BN) + skip, then GELU; the last BN starts at zero (identity block)."""

    def __init__(self, ch: int) -> None:
        super().__init__()
        self.a, self.b = conv_bn(ch, ch), conv_bn(ch, ch)
        nn.init.zeros_(self.b[1].weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.gelu(x + self.b(nn.functional.gelu(self.a(x))))


def highpass(x: torch.Tensor) -> torch.Tensor:
    """x minus its 3x3 box mean (reflect padding): (B,3,H,W) -> (B,3,H,W), ~0-mean."""
    return x - nn.functional.avg_pool2d(nn.functional.pad(x, (1, 1, 1, 1), mode="reflect"), 3, stride=1)


class ConvTrunk(nn.Module):
    """Widths ``width * (1, 2, 4, 8)``; stride 8 overall; out: (B, (H/8)*(W/8), 8*width).

    ``stats=True`` concatenates the fixed block measurements of :mod:`.stats` (through a
    per-block MLP, 8*width channels) to every token and appends one global token (pooled
    conv features + the MLP of the measurements' quantiles over the image):
    out (B, (H/8)*(W/8) + 1, 16*width).
    """

    def __init__(self, width: int = 16, stats: bool = False) -> None:
        super().__init__()
        w = [width, 2 * width, 4 * width, 8 * width]
        self.stem = conv_bn(6, w[0])
        self.grid_phase = nn.Parameter(torch.zeros(1, w[0], 8, 8))
        stages: list[nn.Module] = [ResBlock(w[0])]
        for a, b in zip(w[:-1], w[1:]):
            stages += [conv_bn(a, b, stride=2), nn.GELU(), ResBlock(b)]
        self.stages = nn.Sequential(*stages)
        self.out_dim = w[-1]
        self.stats = None
        if stats:
            self.stats = StatsBranch(w[-1])
            self.out_dim = 2 * w[-1]

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        x = self.stem(torch.cat([lr * 2.0 - 1.0, highpass(lr) * HIGHPASS_GAIN], dim=1))
        h, w = x.shape[-2:]
        phase = self.grid_phase.repeat(1, 1, (h + 7) // 8, (w + 7) // 8)[..., :h, :w]
        x = self.stages(nn.functional.gelu(x + phase))
        if self.stats is None:
            return x.flatten(2).transpose(1, 2)
        local, glob = self.stats(lr)
        tokens = torch.cat([x, local], 1).flatten(2)                     # (B, C, N)
        extra = torch.cat([x.mean((2, 3)), glob], 1).unsqueeze(-1)       # (B, C, 1)
        return torch.cat([tokens, extra], 2).transpose(1, 2)


class TimmTrunk(nn.Module):
    """A pretrained timm CNN (features_only) with weights from a local file.

    ``weights``: a .safetensors or .pth state dict of the timm model (loaded with
    weights_only=True); nothing is downloaded. Input is upsampled 2x first so the
    backbone's stride-4 stem keeps some of the LR's pixel-level detail.
    """

    def __init__(self, name: str, weights: str = "") -> None:
        super().__init__()
        import timm

        self.model = timm.create_model(name, pretrained=False, features_only=True, out_indices=(2,))
        if weights:
            if weights.endswith(".safetensors"):
                from safetensors.torch import load_file
                state = load_file(weights)
            else:
                state = torch.load(weights, map_location="cpu", weights_only=True)
            # strict=False: a classifier checkpoint has a head the features_only model lacks.
            if not set(state) & set(self.model.state_dict()):
                raise ValueError(f"{weights}: no tensor matches timm model {name!r}")
            self.model.load_state_dict(state, strict=False)
        self.out_dim = self.model.feature_info.channels()[-1]
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1), persistent=False)

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        x = torch.nn.functional.interpolate(lr, scale_factor=2, mode="nearest")
        x = self.model((x - self.mean) / self.std)[-1]
        return x.flatten(2).transpose(1, 2)
