"""A --weights-dir of random-weight files in pyiqa's layout, built with pyiqa's own classes.

Only for tests that have pyiqa installed: the files have the names and state-dict keys the
real ones have, so the whole offline loading path runs without a download and without the
real (non-redistributable) weights. Two files cannot be real-shaped fakes and say so:

- CLIP's ``clip/RN50.pt`` is a CLIP of the RN50 layout (ModifiedResNet + text transformer,
  77-token context, CLIP's vocabulary) at small widths, saved as a TorchScript archive as
  OpenAI's file is; pyiqa builds the model from the archive's state-dict shapes. pyiqa
  accepts the file only when its sha256 is OpenAI's, so :func:`accept_fake_clip` skips that
  one check while a test runs.
- timm's ViT-B/8 for MANIQA is the real architecture with random weights, in the Hugging
  Face cache layout (``refs/main`` -> ``snapshots/<rev>/model.safetensors``).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator
from unittest import mock

import torch

from dalpsr_model.eval.weights import HUB, TIMM_VIT

FAKE_METRICS = ("lpips", "fid", "musiq", "maniqa", "clipiqa")
TIMM_REVISION = "0123456789abcdef0123456789abcdef01234567"  # any commit-like name
# CLIP RN50's layout, small: 4 stages of 1 bottleneck, stem width 16 (attention pool of
# 512 channels, 8 heads), a 2-layer text transformer of width 64, 64-d joint embedding.
SMALL_RN50 = dict(embed_dim=64, image_resolution=224, vision_layers=(1, 1, 1, 1), vision_width=16,
                  vision_patch_size=None, context_length=77, vocab_size=49408, transformer_width=64,
                  transformer_heads=1, transformer_layers=2)


@contextlib.contextmanager
def accept_fake_clip() -> Iterator[None]:
    """pyiqa's CLIP loader takes ``<root>/RN50.pt`` without comparing its sha256 to OpenAI's."""
    from pyiqa.archs import clip_model

    def local(url: str, root: str) -> str:
        return os.path.join(root, os.path.basename(url))

    with mock.patch.object(clip_model, "_download", local):
        yield


class _Archive(torch.nn.Module):
    """The root of a TorchScript archive that only carries tensors under their dotted keys."""

    def forward(self) -> torch.Tensor:
        return torch.zeros(1)


def _clip_archive(path: Path) -> None:
    from pyiqa.archs import clip_model

    root = _Archive()
    for key, tensor in clip_model.CLIP(**SMALL_RN50).state_dict().items():
        *parents, name = key.split(".")
        module = root
        for p in parents:
            if not hasattr(module, p):
                module.add_module(p, torch.nn.Module())
            module = getattr(module, p)
        module.register_buffer(name, tensor.clone())
    torch.jit.script(root).save(str(path))


def _timm_vit(hub: Path) -> None:
    import timm
    from safetensors.torch import save_file

    repo = hub / TIMM_VIT
    (repo / "snapshots" / TIMM_REVISION).mkdir(parents=True, exist_ok=True)
    (repo / "refs").mkdir(exist_ok=True)
    vit = timm.create_model("vit_base_patch8_224", pretrained=False)
    save_file({k: v.contiguous() for k, v in vit.state_dict().items()},
              str(repo / "snapshots" / TIMM_REVISION / "model.safetensors"))
    (repo / "refs" / "main").write_text(TIMM_REVISION)


def build_fake_weights(root: Path) -> Path:
    """Write random weights for ``FAKE_METRICS`` under ``root`` (torch.manual_seed(0))."""
    import torchvision
    from pyiqa.archs import inception, lpips_arch, maniqa_arch, musiq_arch

    from dalpsr_model.eval.iqa import offline_caches

    torch.manual_seed(0)
    hub = root / HUB
    for sub in ("checkpoints", "pyiqa", "clip"):
        (hub / sub).mkdir(parents=True, exist_ok=True)
    torch.save(torchvision.models.alexnet().state_dict(), hub / "checkpoints" / "alexnet-owt-7be5be79.pth")
    _clip_archive(hub / "clip" / "RN50.pt")
    _timm_vit(hub)
    with offline_caches(root):  # the backbones now load from the folder; nothing else is fetched
        lpips = lpips_arch.LPIPS(net="alex", version="0.1", pretrained=False)
        torch.save(lpips.state_dict(), hub / "pyiqa" / "LPIPS_v0.1_alex-df73285e.pth")
        with mock.patch.object(inception, "load_pretrained_network", lambda *a, **k: None):
            net = inception.fid_inception_v3()
        torch.save(net.state_dict(), hub / "pyiqa" / "pt_inception-2015-12-05-6726825d.pth")
        musiq = musiq_arch.MUSIQ(pretrained=False)
        torch.save(musiq.state_dict(), hub / "pyiqa" / "musiq_koniq_ckpt-e95806b9.pth")
        maniqa = maniqa_arch.MANIQA(train_dataset="pipal", pretrained=False)
        torch.save(maniqa.state_dict(), hub / "pyiqa" / "MANIQA_PIPAL-ae6d356b.pth")
    return root
