"""LR image -> restoration prompt, with a trained IRPAD.

``predict_log_probs`` is the one forward of a prediction (training's evaluation, the
predictor, `dalpsr-sr`). IRPAD was trained on 128 px LR crops: ``IrpadPredictor.image_prompt``
cuts an image of any size into a grid of 128 px crops (stride 128, the last crop anchored
at the edge; the whole side when it is shorter) and averages the per-type log-probabilities
over the crops before the arg-max (what `dalpsr-sr` and the web app call).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image

from dalpsr_model.irpad.augment import VIEWS, dihedral_view
from dalpsr_model.irpad.io import load_irpad, read_irpad_meta
from dalpsr_model.diffusion.tiling import tile_starts
from dalpsr_model.irpad.prompts import bins_to_prompt


MIN_SIDE = 16  # the block statistics reflect-pad by 8 px; smaller images carry no 8x8 grid
FLOAT_SLACK = 0.05
CROP = 128           # the LR crop size IRPAD was trained on
CROPS_PER_CALL = 64  # crops of one image per model call (memory)


def predict_log_probs(model: torch.nn.Module, lr: torch.Tensor, tta: bool) -> torch.Tensor:
    """(B,3,4) float32 log-probabilities of the bins; with ``tta`` the mean over the 8 views
    (then renormalised), else the single identity view."""
    if not tta:
        return model(lr).float().log_softmax(-1)
    views = torch.stack([model(dihedral_view(lr, i)).float().log_softmax(-1) for i in range(len(VIEWS))])
    return views.mean(0).log_softmax(-1)


def _image_tensor(i: int, im: Image.Image | np.ndarray | torch.Tensor) -> torch.Tensor:
    """One image -> float32 (3,H,W) in [0,1]. PIL images of any mode are converted to RGB;
    arrays/tensors may be (H,W), (H,W,1), (H,W,3), (H,W,4) (alpha dropped, as PIL's RGB
    conversion does) of uint8 (0..255), uint16 (0..65535) or float in [0,1]; a tensor may
    also be channels-first (C,H,W)."""
    if isinstance(im, Image.Image):
        im = np.asarray(im.convert("RGB"))
    if isinstance(im, torch.Tensor):
        x = im.detach().cpu()
        if x.ndim == 3 and x.shape[0] in (1, 3, 4) and x.shape[-1] not in (1, 3, 4):
            x = x.permute(1, 2, 0)  # channels-first tensor -> (H,W,C)
        im = x.numpy()
    a = np.asarray(im)
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3 or a.shape[-1] not in (1, 3, 4):
        raise ValueError(f"image {i}: shape {tuple(np.shape(im))} is not an image; expected (H,W), "
                         f"(H,W,1), (H,W,3) or (H,W,4) (grayscale, RGB or RGBA)")
    if a.dtype == np.uint8:
        a = a.astype(np.float32) / 255.0
    elif a.dtype == np.uint16:
        a = a.astype(np.float32) / 65535.0
    elif np.issubdtype(a.dtype, np.floating):
        a = a.astype(np.float32)
        # resampling overshoots [0,1] a little (clipped); 0..255 floats are a mistake (refused)
        if a.size and (not np.isfinite(a).all() or a.min() < -FLOAT_SLACK or a.max() > 1 + FLOAT_SLACK):
            raise ValueError(f"image {i}: float values must be finite and in [0, 1], got "
                             f"[{np.nanmin(a):.3g}, {np.nanmax(a):.3g}]")
        a = a.clip(0.0, 1.0)
    else:
        raise ValueError(f"image {i}: dtype {a.dtype} is not supported; give uint8, uint16 or float in [0, 1]")
    if min(a.shape[:2]) < MIN_SIDE:
        raise ValueError(f"image {i} is {a.shape[1]}x{a.shape[0]} px: IRPAD needs at least "
                         f"{MIN_SIDE} px a side (it was trained on 128x128 LR crops)")
    a = a[..., :3] if a.shape[-1] == 4 else np.repeat(a, 3, axis=-1) if a.shape[-1] == 1 else a
    return torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1)


class IrpadPredictor:
    """``IrpadPredictor.load("runs/irpad")(images) -> ["Deblur with sigma 0.5~0.75, ...", ...]``.

    Images: a float tensor (B,3,H,W) in [0,1], or a list of PIL images (any mode, converted
    to RGB) or arrays (uint8/uint16/float [0,1]; grayscale (H,W) or (H,W,1), RGB, or RGBA
    whose alpha is dropped). Images of different sizes are predicted in groups of one size,
    in the given order. The model was trained on 128x128 LR crops; other sizes run (the trunk
    is convolutional) but are outside what it was trained on; a side under 16 px is refused.
    ``tta``: average the 8 flipped/rotated views (8x the compute); ``load`` takes the setting
    the model was evaluated with (irpad.json).
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
    def to_tensors(images: torch.Tensor | Sequence[Image.Image | np.ndarray | torch.Tensor]) -> list[torch.Tensor]:
        """Each image as float32 (3,H,W) in [0,1]; ValueError naming the image that is not one."""
        if isinstance(images, torch.Tensor):
            if images.ndim != 4:
                raise ValueError(f"a tensor of images must be (B,C,H,W), got shape {tuple(images.shape)}")
            images = list(images)
        elif isinstance(images, (Image.Image, np.ndarray)):
            raise ValueError("give a list of images (or a (B,3,H,W) tensor), not a single image")
        return [_image_tensor(i, im) for i, im in enumerate(images)]

    @staticmethod
    def to_tensor(images: torch.Tensor | Sequence[Image.Image | np.ndarray]) -> torch.Tensor:
        """(B,3,H,W) float32 in [0,1] of images that share one size."""
        tensors = IrpadPredictor.to_tensors(images)
        sizes = sorted({tuple(t.shape[1:]) for t in tensors})
        if len(sizes) > 1:
            raise ValueError(f"images of {len(sizes)} sizes {sizes[:3]} cannot form one batch; "
                             f"call the predictor, which groups them by size")
        return torch.stack(tensors)

    @torch.no_grad()
    def predict_bins(self, images) -> torch.Tensor:
        """(B,3) int64 bins (blur, noise, jpeg) in 0..3, in the order of ``images``."""
        tensors = self.to_tensors(images)
        out = torch.zeros(len(tensors), 3, dtype=torch.long)
        groups: dict[tuple[int, ...], list[int]] = {}
        for i, t in enumerate(tensors):
            groups.setdefault(tuple(t.shape), []).append(i)
        for idx in groups.values():  # one batch per size: images of one size batch exactly
            batch = torch.stack([tensors[i] for i in idx]).to(self.device)
            out[idx] = predict_log_probs(self.model, batch, self.tta).argmax(-1).cpu()
        return out

    def __call__(self, images) -> list[str]:
        return [bins_to_prompt(b) for b in self.predict_bins(images).tolist()]

    @torch.no_grad()
    def image_log_probs(self, rgb: np.ndarray) -> torch.Tensor:
        """(3, 4) float32 per-type bin log-probabilities of one LR (H, W, 3) uint8 of any size:
        the mean over its grid of 128 px crops (module docstring), on the CPU."""
        x = torch.from_numpy(np.array(rgb)).permute(2, 0, 1).float() / 255.0
        h, w = x.shape[-2:]
        ch, cw = min(CROP, h), min(CROP, w)
        crops = torch.stack([x[:, y:y + ch, x0:x0 + cw] for y in tile_starts(h, ch, 0) for x0 in tile_starts(w, cw, 0)])
        log_probs = torch.cat([predict_log_probs(self.model, chunk.to(self.device), self.tta)
                               for chunk in crops.split(CROPS_PER_CALL)])
        return log_probs.mean(0).cpu()

    def image_prompt(self, rgb: np.ndarray) -> str:
        """Restoration prompt of one LR of any size: the arg-max bin per type of ``image_log_probs``."""
        return bins_to_prompt(self.image_log_probs(rgb).argmax(-1).tolist())
