"""Base loading, the latent-conditioned ControlNet, the Eq. 3 step and EMA, on the tiny stack."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from dalpsr_data.config_io import ConfigError
from dalpsr_model.diffusion.base import load_base, module_hash
from dalpsr_model.controlnet.ema import EMAHolder
from dalpsr_model.controlnet.model import build_controlnet, check_latent_controlnet, load_controlnet, predict_noise
from dalpsr_model.controlnet.step import Batch, compute_loss, random_crop, step_generator


def _batch(hw=64, b=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return Batch(keys=[f"k{i}" for i in range(b)], restorations=["heavy blur, light noise"] * b,
                 captions=["a photo of a flower"] * b,
                 hr01=torch.rand(b, 3, hw, hw, generator=g), lr01=torch.rand(b, 3, hw // 4, hw // 4, generator=g))


def test_bad_base_folders_fail_with_what_to_do(tmp_path, tiny_sd_dir):
    with pytest.raises(ConfigError, match="does not exist"):
        load_base(tmp_path / "nowhere")
    partial = tmp_path / "partial"
    shutil.copytree(tiny_sd_dir, partial)
    shutil.rmtree(partial / "vae")
    with pytest.raises(ConfigError, match=r"lacks \['vae'\]"):
        load_base(partial)
    shutil.copytree(tiny_sd_dir / "vae", partial / "vae")
    cfg_path = partial / "scheduler" / "scheduler_config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["prediction_type"] = "v_prediction"  # SD 2.1 768 would be this: not our loss
    cfg_path.write_text(json.dumps(cfg))
    with pytest.raises(ConfigError, match="epsilon"):
        load_base(partial)


def test_base_schedule_is_sd21(tiny_base):
    s = tiny_base.noise_scheduler
    assert s.config.num_train_timesteps == 1000 and s.config.prediction_type == "epsilon"
    # scaled_linear: sqrt-spaced betas from 0.00085 to 0.012
    assert s.betas[0].item() == pytest.approx(0.00085, rel=1e-5)
    assert s.betas[-1].item() == pytest.approx(0.012, rel=1e-5)
    assert s.alphas_cumprod[-1].item() == pytest.approx(0.0046600, rel=1e-3)


def test_latent_conditioning_keeps_resolution_and_starts_as_identity(tiny_base):
    torch.manual_seed(0)
    cn = build_controlnet(tiny_base.unet, cond_embed_channels=16)
    check_latent_controlnet(cn)
    z = torch.randn(2, 4, 16, 16)
    emb = cn.controlnet_cond_embedding(z)
    assert emb.shape == (2, tiny_base.unet.config.block_out_channels[0], 16, 16)
    t = torch.tensor([10, 500])
    text = torch.randn(2, 77, 32)
    with torch.no_grad():
        down, mid = cn(z, t, encoder_hidden_states=text, controlnet_cond=z, return_dict=False)
        # zero convolutions: an untrained ControlNet leaves the base UNet unchanged
        assert all(float(d.abs().max()) == 0.0 for d in down) and float(mid.abs().max()) == 0.0
        ours = predict_noise(tiny_base.unet, cn, z, t, text, z)
        plain = tiny_base.unet(z, t, encoder_hidden_states=text).sample
    assert torch.equal(ours, plain)


def test_saved_controlnet_reloads_with_plain_diffusers(tiny_base, tmp_path):
    from diffusers import ControlNetModel

    torch.manual_seed(1)
    cn = build_controlnet(tiny_base.unet, cond_embed_channels=16)
    with torch.no_grad():  # make the zero conv non-zero so the round trip is not trivial
        cn.controlnet_cond_embedding.conv_out.weight.normal_()
    cn.save_pretrained(tmp_path / "cn")
    again = ControlNetModel.from_pretrained(tmp_path / "cn", local_files_only=True)
    assert again.config.conditioning_channels == 4
    assert list(again.config.conditioning_embedding_out_channels) == [16]
    a, b = cn.state_dict(), again.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    load_controlnet(tmp_path / "cn")  # our loader accepts it
    stock = ControlNetModel.from_unet(tiny_base.unet, conditioning_embedding_out_channels=(8, 16))
    with pytest.raises(ValueError, match="not a DaLPSR latent ControlNet"):
        check_latent_controlnet(stock)


def test_step_is_seeded_and_finite(tiny_base):
    torch.manual_seed(0)
    cn = build_controlnet(tiny_base.unet, cond_embed_channels=16)
    batch = _batch()
    l1 = compute_loss(tiny_base, cn, batch, step_generator(0, 7), 0.5, "cpu")
    l2 = compute_loss(tiny_base, cn, batch, step_generator(0, 7), 0.5, "cpu")
    l3 = compute_loss(tiny_base, cn, batch, step_generator(0, 8), 0.5, "cpu")
    assert torch.isfinite(l1) and l1.item() == l2.item() and l1.item() != l3.item()
    # Its value is checked against Eq. 3 written out in test_cn_eq3.py.


def test_loss_falls_on_a_repeated_batch(tiny_base):
    torch.manual_seed(0)
    cn = build_controlnet(tiny_base.unet, cond_embed_channels=16)
    opt = torch.optim.Adam(cn.parameters(), lr=1e-3)
    batch = _batch()
    losses = []
    for _ in range(12):
        loss = compute_loss(tiny_base, cn, batch, step_generator(0, 0), 0.0, "cpu")
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
    # Same noise and timesteps every step, so only learning moves the loss (measured -25% after 12 steps).
    assert losses[-1] < 0.85 * losses[0], losses


def test_random_crop_keeps_lr_and_hr_aligned():
    hr = torch.arange(2 * 3 * 64 * 64, dtype=torch.float32).reshape(2, 3, 64, 64)
    lr = hr[..., ::4, ::4].clone()  # LR pixel (y, x) = HR pixel (4y, 4x)
    h, l_ = random_crop(hr, lr, 32, 4, step_generator(3, 1))
    assert h.shape == (2, 3, 32, 32) and l_.shape == (2, 3, 8, 8)
    assert torch.equal(h[..., ::4, ::4], l_)
    h2, _ = random_crop(hr, lr, 32, 4, step_generator(3, 1))
    assert torch.equal(h, h2)


def test_ema_update_follows_the_formula():
    model = torch.nn.Linear(2, 1)
    ema = EMAHolder(model, decay=0.9)
    w0 = ema.model.weight.detach().clone()
    with torch.no_grad():
        model.weight.add_(1.0)
    ema.update(model)
    d = min(0.9, 2.0 / 11.0)  # warm-up at the first update
    assert torch.allclose(ema.model.weight, d * w0 + (1 - d) * model.weight)
    assert int(ema.num_updates) == 1 and not ema.model.weight.requires_grad


def test_vae_hash_changes_with_weights_and_dtype(tiny_base):
    import copy

    vae = copy.deepcopy(tiny_base.vae)  # the session base stays untouched
    h = module_hash(vae, "torch.float32")
    assert h == module_hash(vae, "torch.float32") and h != module_hash(vae, "torch.bfloat16")
    with torch.no_grad():
        next(vae.parameters()).add_(1.0)
    assert module_hash(vae, "torch.float32") != h
