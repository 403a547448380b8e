"""The DaLPSR ControlNet on Stable Diffusion 2.1-base (paper Sections III.A, III.D, Fig. 2, Eq. 3).

Modules: model (ControlNet conditioned on the LR latent), latent_cache (training latents
per shard), step (the epsilon-prediction loss), ema, validation (LR | SR | HR grid through
the SR sampler), caption_check, config, trainer. The SD parts it shares with inference
(base, latents, text, sampler) are in dalpsr_model.diffusion. Heavy libraries are
imported inside functions so importing this package stays cheap.
"""
