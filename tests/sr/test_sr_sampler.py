"""The SR sampler against hand-written DDPM / DDIM recurrences with the CFG formula written out.

SD 2.1-base's schedule, written out: betas = linspace(sqrt(0.00085), sqrt(0.012), 1000)^2
(scaled_linear), abar_t = prod_{s<=t} (1 - beta_s); 50/N-step samplers use the "leading"
timesteps t_i = i * (1000 // N) + 1 (steps_offset 1), largest first.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from dalpsr_model.controlnet.model import predict_noise
from dalpsr_model.diffusion.sampler import image_generator, sample_latents, start_point
from dalpsr_model.diffusion.text import prompt_embeddings

GUIDANCE = 5.5


def abar() -> np.ndarray:
    betas = np.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000, dtype=np.float64) ** 2
    return np.cumprod(1.0 - betas)


def test_sqrt_abar_999_of_sd21_schedule():
    assert math.sqrt(abar()[999]) == pytest.approx(0.06826, abs=5e-6)


def test_start_point_is_noised_lr_at_999(sr_base):
    g = torch.Generator().manual_seed(0)
    z_lr, noise = torch.randn(2, 4, 8, 8, generator=g), torch.randn(2, 4, 8, 8, generator=g)
    a = abar()[999]
    expected = math.sqrt(a) * z_lr + math.sqrt(1 - a) * noise
    torch.testing.assert_close(start_point(sr_base.noise_scheduler, z_lr, noise, 999), expected,
                               rtol=1e-5, atol=1e-6)


def _hand_written(base, controlnet, z_lr, cond, uncond, keys, steps, kind, seed=0):
    """One image at a time, each with its own (seed, key) generator: the recurrences by hand."""
    a = abar()
    ratio = 1000 // steps
    timesteps = [i * ratio + 1 for i in range(steps)][::-1]
    out = []
    for i, key in enumerate(keys):
        g = image_generator(seed, key)
        zl, c, u = z_lr[i:i + 1], cond[i:i + 1], uncond[i:i + 1]
        noise = torch.randn((1, *z_lr.shape[1:]), generator=g)
        z = math.sqrt(a[999]) * zl + math.sqrt(1 - a[999]) * noise
        for t in timesteps:
            tt = torch.tensor([t])
            with torch.no_grad():
                eps_u = predict_noise(base.unet, controlnet, z, tt, u, zl).float()
                eps_c = predict_noise(base.unet, controlnet, z, tt, c, zl).float()
            eps = eps_u + GUIDANCE * (eps_c - eps_u)
            prev = t - ratio
            a_t = a[t]
            a_prev = a[prev] if prev >= 0 else (1.0 if kind == "ddpm" else a[0])
            x0 = (z - math.sqrt(1 - a_t) * eps) / math.sqrt(a_t)
            if kind == "ddim":  # eta = 0
                z = math.sqrt(a_prev) * x0 + math.sqrt(1 - a_prev) * eps
                continue
            alpha_t = a_t / a_prev
            beta_t = 1 - alpha_t
            mean = (math.sqrt(a_prev) * beta_t / (1 - a_t)) * x0 \
                + (math.sqrt(alpha_t) * (1 - a_prev) / (1 - a_t)) * z
            var = max((1 - a_prev) / (1 - a_t) * beta_t, 1e-20)
            z = mean + math.sqrt(var) * torch.randn(z.shape, generator=g) if t > 0 else mean
        out.append(z)
    return torch.cat(out)


@pytest.mark.parametrize("kind", ["ddpm", "ddim"])
def test_loop_equals_hand_written_recurrence(kind, sr_base, sr_controlnet, sr_config, tmp_path):
    cfg = sr_config([tmp_path], scheduler=kind, steps=4, guidance=GUIDANCE)
    keys = ["a/b", "c"]
    z_lr = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(1))
    cond, uncond = prompt_embeddings(sr_base, ["Deblur with sigma 0.5~0.75", "Denoise"],
                                     ["a red flower", ""], cfg.added_prompt, cfg.negative_prompt)
    got = sample_latents(sr_base, sr_controlnet, z_lr, cond, uncond, keys, cfg.sampler)
    want = _hand_written(sr_base, sr_controlnet, z_lr, cond, uncond, keys, 4, kind)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)
    # guidance matters here: the s = 1 result is different
    plain = sample_latents(sr_base, sr_controlnet, z_lr, cond, uncond, keys,
                           sr_config([tmp_path], scheduler=kind, steps=4, guidance=1.0).sampler)
    assert (plain - got).abs().max() > 1e-3


def test_prompt_order_restoration_caption_added(sr_base):
    from dalpsr_model.diffusion.sampler import ADDED_PROMPT
    from dalpsr_model.diffusion.text import positive_ids

    tok = sr_base.tokenizer

    def text(ids):
        kept = [i for i in ids if i not in (tok.bos_token_id, tok.eos_token_id)]
        return tok.decode(kept).replace(" ", "")

    assert text(positive_ids(tok, "Deblur", "a dog", ADDED_PROMPT)) == "deblur,adog,clean,high-resolution,8k"
    assert text(positive_ids(tok, "Deblur", "", ADDED_PROMPT)) == "deblur,clean,high-resolution,8k"
    # the tiny tokenizer takes ~1 token per character: a long caption leaves no room for the
    # added prompt, and the restoration prompt is kept whole
    long_caption = "a dog on a beach " * 10
    t = text(positive_ids(tok, "Deblur with sigma 0.5~0.75", long_caption, ADDED_PROMPT))
    assert t.startswith("deblurwithsigma0.5~0.75,adogonabeach") and "8k" not in t
