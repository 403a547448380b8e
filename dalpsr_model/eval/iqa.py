"""The pyiqa-backed metrics (LPIPS, FID features, MANIQA, MUSIQ, CLIP-IQA), strictly offline.

pyiqa is an optional extra (``pip install 'dalpsr[eval]'``; its licence is non-commercial),
imported only here and only when one of its metrics is asked for. Its weights come from
``--weights-dir`` (see :mod:`dalpsr_model.eval.weights`): while the metrics are built and
run, every cache pyiqa, torchvision, CLIP and timm read points there, the Hugging Face hub is
offline, and the download functions they call raise instead of reaching the network.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from dalpsr_data.config_io import ConfigError
from dalpsr_model.eval.weights import HUB, IQA_METRICS

FID_SIZE = (299, 299)


class DownloadRefused(RuntimeError):
    """A metric tried to fetch a file that --weights-dir does not hold."""


def pyiqa_available() -> bool:
    return importlib.util.find_spec("pyiqa") is not None


def require_pyiqa(metrics: list[str]) -> None:
    """ConfigError naming the extra to install when pyiqa metrics are asked for without pyiqa."""
    if metrics and not pyiqa_available():
        raise ConfigError(f"--metrics {','.join(metrics)} needs pyiqa: pip install 'dalpsr[eval]' "
                          "(non-commercial licence), or choose --metrics psnr,ssim")


def _refuse(url: Any, *args: Any, **kwargs: Any) -> None:
    target = getattr(url, "full_url", url)
    raise DownloadRefused(f"a metric tried to download {target}: put the file in --weights-dir "
                          "(see docs/eval.md); dalpsr-eval never downloads")


@contextlib.contextmanager
def _patched(obj: Any, name: str, value: Any) -> Iterator[None]:
    old = getattr(obj, name)
    setattr(obj, name, value)
    try:
        yield
    finally:
        setattr(obj, name, old)


@contextlib.contextmanager
def offline_caches(weights_dir: str | Path) -> Iterator[None]:
    """Point every weight cache at ``weights_dir`` and make downloads raise, then restore.

    The environment variables cover modules imported later; the module attributes cover
    ones already imported (they read their cache folder once, at import).
    """
    import huggingface_hub.constants as hf_constants
    import torch.hub

    root = Path(weights_dir).resolve()
    hub = root / HUB
    env = {"TORCH_HOME": str(root), "HF_HUB_CACHE": str(hub), "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}
    saved_env = {k: os.environ.get(k) for k in env}
    saved_hub_dir = torch.hub.get_dir()
    os.environ.update(env)
    torch.hub.set_dir(str(hub))
    try:
        with contextlib.ExitStack() as stack:
            import pyiqa.utils.download_util as pyiqa_download

            for obj, name, value in ((torch.hub, "download_url_to_file", _refuse),
                                     (pyiqa_download, "download_url_to_file", _refuse),
                                     (pyiqa_download, "DEFAULT_CACHE_DIR", str(hub / "pyiqa")),
                                     (urllib.request, "urlopen", _refuse),  # OpenAI CLIP's downloader
                                     (hf_constants, "HF_HUB_CACHE", str(hub)),
                                     (hf_constants, "HF_HUB_OFFLINE", True)):
                if hasattr(obj, name):
                    stack.enter_context(_patched(obj, name, value))
            yield
    finally:
        torch.hub.set_dir(saved_hub_dir)
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def to_tensor(img: np.ndarray, device: Any) -> Any:
    """RGB uint8 (H, W, 3) -> float32 tensor (1, 3, H, W) in [0, 1] on ``device``."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))).float().div(255.0)[None].to(device)


class IqaScorer:
    """pyiqa metrics built once; call inside :func:`offline_caches` of the same folder."""

    def __init__(self, metrics: list[str], device: str) -> None:
        import pyiqa
        import torch

        self.device = torch.device(device)
        self.per_image = {m: pyiqa.create_metric(IQA_METRICS[m].pyiqa_name, device=self.device)
                          for m in metrics if m != "fid"}
        self.fid = pyiqa.create_metric("fid", device=self.device) if "fid" in metrics else None

    def score(self, sr: np.ndarray, hr: np.ndarray | None) -> dict[str, float]:
        """Per-image scores of one SR image (and its HR, for LPIPS); RGB uint8 (H, W, 3)."""
        import torch

        x = to_tensor(sr, self.device)
        y = to_tensor(hr, self.device) if hr is not None else None
        out = {}
        with torch.no_grad():
            for name, metric in self.per_image.items():
                value = metric(x, y) if name == "lpips" else metric(x)
                out[name] = float(value.item())
        return out

    def fid_features(self, files: list[Path], batch_size: int) -> np.ndarray:
        """Inception pool3 features (N, 2048) float64 of image files, clean-fid 'clean' mode.

        The resize is pyiqa's own (per-channel PIL bicubic on float32 to 299×299), on the
        paired file list only, so stray images in a folder never enter FID.
        """
        import torch
        from pyiqa.archs.fid_arch import ResizeDataset

        model = self.fid.net.model
        data = ResizeDataset([str(f) for f in files], mode="clean", size=FID_SIZE)
        feats = []
        with torch.no_grad():
            for start in range(0, len(data), batch_size):
                batch = torch.stack([data[i] for i in range(start, min(start + batch_size, len(data)))])
                batch = (batch - 128.0) / 128.0  # clean mode: the network gets [-1, 1] directly
                feat = model(batch.to(self.device), False, False)[0]
                feats.append(feat.reshape(feat.shape[0], -1).double().cpu().numpy())
        return np.concatenate(feats)
