"""The validation grid samples as `dalpsr-sr` does: its sampler, its defaults, its colour fix."""

from __future__ import annotations

import torch

import dalpsr_model.controlnet.validation as validation
from dalpsr_model.controlnet.model import build_controlnet
from dalpsr_model.diffusion.latents import upsample_lr
from dalpsr_model.sr.colorfix import adain


def test_validation_uses_the_sr_sampler_with_dalpsr_sr_defaults(tiny_base, cn_build, monkeypatch):
    samples = validation.load_val_samples(cn_build, 2, crop=64)
    torch.manual_seed(0)
    controlnet = build_controlnet(tiny_base.unet, cond_embed_channels=16).eval()
    seen = {}
    real = validation.sample_images

    def spy(base, cn, lr, size, restorations, captions, keys, settings, on_step=None):
        seen.update(size=size, keys=list(keys), settings=settings, captions=list(captions))
        seen["raw"] = real(base, cn, lr, size, restorations, captions, keys, settings)
        return seen["raw"]

    monkeypatch.setattr(validation, "sample_images", spy)
    sr = validation.validation_sr(tiny_base, controlnet, samples, steps=3, seed=7, use_captions=False)
    s = seen["settings"]
    # dalpsr-sr's defaults (SeeSR's test script), written out: only the steps come from the preset
    assert (s.scheduler, s.steps, s.guidance, s.start_timestep, s.seed) == ("ddpm", 3, 5.5, 999, 7)
    assert s.negative_prompt == "dotted, noise, blur, lowres, smooth" and s.added_prompt == "clean, high-resolution, 8k"
    assert seen["size"] == (64, 64) and seen["keys"] == samples["key"] and seen["captions"] == ["", ""]
    # AdaIN against the bicubic-upsampled LR, as dalpsr-sr's default colour fix
    want = adain(seen["raw"], upsample_lr(samples["lr"].float(), (64, 64))).clamp(0, 1)
    torch.testing.assert_close(sr, want, rtol=0, atol=1e-6)
    assert sr.shape == samples["hr"].shape
