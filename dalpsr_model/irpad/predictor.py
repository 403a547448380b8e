"""LR image -> restoration prompt, with a trained IRPAD."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image

from dalpsr_model.irpad.augment import predict_log_probs
from dalpsr_model.irpad.io import load_irpad, read_irpad_meta
from dalpsr_model.irpad.prompts import bins_to_prompt


class IrpadPredictor:
    """``IrpadPredictor.load("runs/irpad")(images) -> ["Deblur with sigma 0.5~0.75, ...", ...]``.

    Images: a float tensor (B,3,H,W) in [0,1], or a list of PIL images / uint8 HxWx3 arrays.
    The model was trained on 128x128 LR crops; other sizes run (the trunk is convolutional)
    but are outside what it was trained on. ``tta``: average the 8 flipped/rotated views
    (8x the compute); ``load`` takes the setting the model was evaluated with (irpad.json).
    """

    def __init__(self, model: torch.nn.Module, device: str | torch.device = "cpu", tta: bool = False) -> None:
        self.model = model.to(device).eval()
        self.device = device
        self.tta = tta

    @classmethod
    def load(cls, path: str | Path, device: str | torch.device = "cpu", tta: bool | None = None) -> "IrpadPredictor":
        meta = read_irpad_meta(path)
        tta = bool(meta.get("tta", False)) if tta is None else tta
        return cls(load_irpad(path, device, meta), device, tta)

    @staticmethod
    def to_tensor(images: torch.Tensor | Sequence[Image.Image | np.ndarray]) -> torch.Tensor:
        if isinstance(images, torch.Tensor):
            return images.float()
        arrays = [np.asarray(im.convert("RGB")) if isinstance(im, Image.Image) else np.asarray(im)
                  for im in images]
        return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float() / 255.0

    @torch.no_grad()
    def predict_bins(self, images) -> torch.Tensor:
        """(B,3) int64 bins (blur, noise, jpeg) in 0..3."""
        return predict_log_probs(self.model, self.to_tensor(images).to(self.device), self.tta).argmax(-1).cpu()

    def __call__(self, images) -> list[str]:
        return [bins_to_prompt(b) for b in self.predict_bins(images).tolist()]
