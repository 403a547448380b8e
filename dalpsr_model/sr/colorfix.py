"""Colour correction of the SR against the upsampled LR (StableSR / SeeSR practice).

Diffusion output drifts in colour; both fixes move the SR's low-frequency colour onto the
reference's while keeping the SR's detail. Inputs and outputs are (B, 3, H, W) float in
[0, 1] of equal size; outputs are not clamped (the caller clamps once at the end).

- AdaIN: per image and channel, (sr - mean_sr) / std_sr * std_ref + mean_ref.
- wavelet: sr's high frequencies + ref's low frequency, from a 5-level a trous
  decomposition with the 3x3 binomial kernel [1 2 1]^T [1 2 1] / 16 dilated 2^i at level i
  (replicate padding). high(x) + low(x) == x, so fixing x against itself returns x.
"""

from __future__ import annotations

from typing import Any

COLOR_FIXES = ("adain", "wavelet", "none")
DEFAULT_COLOR_FIX = "adain"  # dalpsr-sr's default and the validation grid's
WAVELET_LEVELS = 5
STD_EPS = 1e-6  # a flat channel keeps std 0 instead of dividing by 0


def adain(sr: Any, ref: Any) -> Any:
    """Give each channel of ``sr`` the mean and (population) std of ``ref``'s channel."""
    dims = (-2, -1)
    sr_mean, ref_mean = sr.mean(dims, keepdim=True), ref.mean(dims, keepdim=True)
    sr_std = sr.std(dims, keepdim=True, unbiased=False).clamp_min(STD_EPS)
    ref_std = ref.std(dims, keepdim=True, unbiased=False)
    return (sr - sr_mean) / sr_std * ref_std + ref_mean


def _blur(x: Any, dilation: int) -> Any:
    """3x3 binomial blur with holes (dilation), replicate padding; (B, C, H, W) -> same."""
    import torch
    import torch.nn.functional as F

    k1 = torch.tensor([1.0, 2.0, 1.0], dtype=x.dtype, device=x.device) / 4.0
    kernel = torch.outer(k1, k1)[None, None].repeat(x.shape[1], 1, 1, 1)
    padded = F.pad(x, (dilation,) * 4, mode="replicate")
    return F.conv2d(padded, kernel, groups=x.shape[1], dilation=dilation)


def wavelet_split(x: Any, levels: int = WAVELET_LEVELS) -> tuple[Any, Any]:
    """(high, low) with high + low == x: low is the blur after ``levels`` levels."""
    high = x.new_zeros(x.shape)
    low = x
    for i in range(levels):
        blurred = _blur(low, 2 ** i)
        high = high + (low - blurred)
        low = blurred
    return high, low


def wavelet(sr: Any, ref: Any) -> Any:
    """``sr``'s high frequencies on ``ref``'s low frequency."""
    return wavelet_split(sr)[0] + wavelet_split(ref)[1]


def color_fix(sr: Any, ref: Any, method: str) -> Any:
    """Apply ``method`` (one of COLOR_FIXES) in fp32."""
    if method == "none":
        return sr
    fn = {"adain": adain, "wavelet": wavelet}[method]
    return fn(sr.float(), ref.float())
