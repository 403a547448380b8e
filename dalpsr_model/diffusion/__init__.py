"""The Stable Diffusion core shared by training, validation, `dalpsr-sr` and the web app.

Modules: base (the frozen SD 2.1-base parts, loaded offline), latents (VAE encode/decode of
[0, 1] images, z_LR), text (restoration prompt + caption within 77 CLIP tokens), tiling
(latent tiles of the noise prediction), sampler (SamplerSettings, the noised-LR start point,
classifier-free guidance, the scheduler loop with a per-step callback). Heavy libraries are
imported inside functions so importing this package stays cheap.
"""
