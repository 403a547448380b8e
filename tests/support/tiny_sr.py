"""The tiny model folders `dalpsr-sr` reads, laid out as the trainers write them, built offline.

``build_tiny_sr_models(root)`` returns {"base", "controlnet", "irpad"}:

    root/sd21base/                     tiny SD 2.1-base (dalpsr_model/models/tiny_sd.py)
    root/controlnet-run/controlnet/    latent ControlNet (dalpsr_model.controlnet.model), the
                                       output folder of `dalpsr-train controlnet`
    root/irpad-run/                    irpad.safetensors + irpad.json (save_irpad)

The ControlNet's zero convolutions get small random values so that the condition z_LR and
the text change the output (an untrained ControlNet adds exactly nothing).
"""

from __future__ import annotations

from pathlib import Path

from dalpsr_model.models.tiny_sd import build_tiny_sd


def build_tiny_sr_models(root: str | Path, seed: int = 0) -> dict[str, Path]:
    import torch

    from dalpsr_data.atomic import write_json_atomic
    from dalpsr_model.controlnet.model import build_controlnet
    from dalpsr_model.diffusion.base import load_base
    from dalpsr_model.irpad.io import save_irpad
    from dalpsr_model.irpad.model import Irpad, IrpadArch

    root = Path(root)
    base_dir = build_tiny_sd(root / "sd21base", seed=seed)
    base = load_base(base_dir)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed + 1)
        controlnet = build_controlnet(base.unet, cond_embed_channels=16)
        with torch.no_grad():
            for name, p in controlnet.named_parameters():
                if "zero_conv" in name or "controlnet_cond_embedding.conv_out" in name \
                        or "controlnet_mid_block" in name or "controlnet_down_blocks" in name:
                    p.normal_(std=0.05)
        run = root / "controlnet-run"
        controlnet.save_pretrained(run / "controlnet", safe_serialization=True)
        write_json_atomic(run / "config.json", {"stage": "controlnet", "base": str(base_dir)})
        irpad = Irpad(IrpadArch(width=4, dim=16, heads=2))
        save_irpad(irpad, root / "irpad-run")
    return {"base": base_dir, "controlnet": run, "irpad": root / "irpad-run"}
