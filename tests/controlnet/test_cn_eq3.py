"""Eq. 3 of the paper recomputed for one step, independently of ``compute_loss`` (issue 12 item 4).

    L = || eps - eps_theta(z_t, t, tau, z_LR) ||^2,   z_t = sqrt(abar_t) z0 + sqrt(1 - abar_t) eps

written out here from SD 2.1's noise schedule (1000 steps, "scaled_linear" betas from
0.00085 to 0.012: beta_i = (sqrt(0.00085) + i (sqrt(0.012) - sqrt(0.00085)) / 999)^2,
abar_t = prod_{i<=t} (1 - beta_i)), the noised latent, and the diffusers UNet called with
the ControlNet's down/mid residuals, then the mean squared error to eps. The step's
draws follow the documented order of ``step.py``: timesteps, noise, empty-prompt flags
from one generator. The prompt ids are the tokenizer's own on "restoration, caption" cut to
CLIP's 77-token window (the restoration prompt first, so only the caption's tail is cut),
and the tokenizer's empty prompt for a sample whose flag says drop.
"""

from __future__ import annotations

import math

import pytest
import torch

from dalpsr_model.controlnet.model import build_controlnet
from dalpsr_model.controlnet.step import Batch, compute_loss, step_generator

T, BETA_START, BETA_END = 1000, 0.00085, 0.012  # SD 2.1 base scheduler_config.json
EMPTY_PROMPT_PROB = 0.5
WINDOW = 77  # CLIP's text window, <bos> and <eos> included
# Longer than the window alone: the budget cuts it (sample 0 is kept at both steps tested).
LONG_CAPTION = "a red flower in a green garden under a blue sky with white clouds " * 8


def _alpha_bar(t: int) -> float:
    """abar_t in float64 from the scaled-linear betas."""
    lo, hi = math.sqrt(BETA_START), math.sqrt(BETA_END)
    prod = 1.0
    for i in range(t + 1):
        beta = (lo + i * (hi - lo) / (T - 1)) ** 2
        prod *= 1.0 - beta
    return prod


@pytest.fixture(scope="module")
def controlnet(tiny_base):
    """A ControlNet whose zero convolutions are made non-zero, so its residuals count."""
    torch.manual_seed(0)
    cn = build_controlnet(tiny_base.unet, cond_embed_channels=16)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, p in cn.named_parameters():
            if name.startswith(("controlnet_down_blocks", "controlnet_mid_block", "controlnet_cond_embedding.conv_out")):
                p.copy_(0.05 * torch.randn(p.shape, generator=g))
    return cn


def _batch(b=3, hw=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return Batch(keys=[f"k{i}" for i in range(b)],
                 restorations=["heavy blur, light noise", "slight blur", "strong JPEG artifacts"][:b],
                 captions=[LONG_CAPTION, "a red car on a road", "a dog"][:b],
                 z0=torch.randn(b, 4, hw, hw, generator=g), z_lr=torch.randn(b, 4, hw, hw, generator=g))


def _prompt_ids_by_hand(tokenizer, restorations, captions, drop):
    """(B, 77): the tokenizer's padded ids of "restoration, caption", tail-truncated, or of ""."""
    rows = [tokenizer("" if d else f"{r}, {c}", padding="max_length", truncation=True,
                      max_length=WINDOW)["input_ids"] for r, c, d in zip(restorations, captions, drop)]
    return torch.tensor(rows, dtype=torch.long)


def _eq3_by_hand(base, cn, batch, generator):
    b = len(batch)
    t = torch.randint(0, T, (b,), generator=generator)
    eps = torch.randn(tuple(batch.z0.shape), generator=generator)
    drop = (torch.rand(b, generator=generator) < EMPTY_PROMPT_PROB).tolist()
    abar = torch.tensor([_alpha_bar(int(ti)) for ti in t], dtype=torch.float64).view(b, 1, 1, 1)
    z_t = (abar.sqrt() * batch.z0.double() + (1 - abar).sqrt() * eps.double()).float()
    with torch.no_grad():
        tau = base.text_encoder(_prompt_ids_by_hand(base.tokenizer, batch.restorations, batch.captions, drop))[0]
        down, mid = cn(z_t, t, encoder_hidden_states=tau, controlnet_cond=batch.z_lr, return_dict=False)
        eps_hat = base.unet(z_t, t, encoder_hidden_states=tau, down_block_additional_residuals=list(down),
                            mid_block_additional_residual=mid).sample
        plain = base.unet(z_t, t, encoder_hidden_states=tau).sample
    loss = ((eps_hat.double() - eps.double()) ** 2).mean()
    return loss, t, drop, (eps_hat - plain).abs().max().item()


def test_scheduler_is_the_written_out_schedule(tiny_base):
    s = tiny_base.noise_scheduler
    for t in (0, 1, 250, 999):
        assert s.alphas_cumprod[t].item() == pytest.approx(_alpha_bar(t), rel=1e-5)


def test_the_long_caption_is_cut_and_the_restoration_prompt_kept(tiny_base):
    tok, batch = tiny_base.tokenizer, _batch()
    assert len(tok(LONG_CAPTION, add_special_tokens=False)["input_ids"]) > WINDOW
    rp = tok(batch.restorations[0], add_special_tokens=False)["input_ids"]
    ids = _prompt_ids_by_hand(tok, batch.restorations, batch.captions, [False] * 3)[0].tolist()
    assert ids[1:1 + len(rp)] == rp and ids[-1] == tok.eos_token_id


@pytest.mark.parametrize("step,expected_drop", [(7, [False, False, False]), (8, [False, True, True])])
def test_compute_loss_equals_eq3_written_out(tiny_base, controlnet, step, expected_drop):
    batch = _batch()
    ref, t, drop, residual_effect = _eq3_by_hand(tiny_base, controlnet, batch, step_generator(0, step))
    assert drop == expected_drop  # both steps together: kept, cut and dropped prompts
    assert residual_effect > 1e-3  # the ControlNet's residuals change the prediction
    assert len(set(t.tolist())) == len(t)  # distinct timesteps: a per-sample mix-up would show
    with torch.no_grad():
        ours = compute_loss(tiny_base, controlnet, batch, step_generator(0, step), EMPTY_PROMPT_PROB, "cpu")
    assert ours.dtype == torch.float32
    assert ours.item() == pytest.approx(ref.item(), rel=1e-5)


def test_only_the_controlnet_learns(tiny_base):
    """The reading of the paper's "fine-tune complete model" (docs/controlnet.md): SD stays
    frozen, the gradient of Eq. 3 reaches only the ControlNet."""
    torch.manual_seed(0)
    cn = build_controlnet(tiny_base.unet, cond_embed_channels=16)
    loss = compute_loss(tiny_base, cn, _batch(b=2), step_generator(0, 3), 0.0, "cpu")
    loss.backward()
    for part in (tiny_base.unet, tiny_base.vae, tiny_base.text_encoder):
        assert not any(p.requires_grad or p.grad is not None for p in part.parameters())
    grads = [p.grad for p in cn.parameters()]
    assert all(g is not None for g in grads) and sum(float(g.abs().sum()) for g in grads) > 0
