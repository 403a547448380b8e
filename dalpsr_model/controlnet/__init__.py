"""The DaLPSR ControlNet on Stable Diffusion 2.1-base (paper Sections III.A, III.D, Fig. 2, Eq. 3).

Modules: base (frozen SD parts, loaded offline), model (ControlNet conditioned on the LR
latent), text (restoration prompt + caption within 77 tokens), latents (VAE latents and
their per-shard cache), step (the epsilon-prediction loss), sampling (DDIM from the noised
LR latent, LR | SR | HR grid), ema, validation, config, trainer. Heavy libraries are
imported inside functions so importing this package stays cheap.
"""
