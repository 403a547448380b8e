"""A --weights-dir of random-weight files in pyiqa's layout, built with pyiqa's own classes.

Only for tests that have pyiqa installed: the files have the names and state-dict keys the
real ones have, so the whole offline loading path runs without a download and without the
real (non-redistributable) weights. CLIP's RN50.pt cannot be faked (pyiqa checks its
sha256), nor is MANIQA built (ViT-B/8 on 20 crops is too slow for a 2-core test run).
"""

from __future__ import annotations

from pathlib import Path
from unittest import mock

FAKE_METRICS = ("lpips", "fid", "musiq")


def build_fake_weights(root: Path) -> Path:
    """Write random weights for ``FAKE_METRICS`` under ``root`` (torch.manual_seed(0))."""
    import torch
    import torchvision
    from pyiqa.archs import inception, lpips_arch, musiq_arch

    from dalpsr_model.eval.iqa import offline_caches

    torch.manual_seed(0)
    hub = root / "hub"
    (hub / "checkpoints").mkdir(parents=True, exist_ok=True)
    (hub / "pyiqa").mkdir(parents=True, exist_ok=True)
    torch.save(torchvision.models.alexnet().state_dict(), hub / "checkpoints" / "alexnet-owt-7be5be79.pth")
    with offline_caches(root):  # AlexNet now loads from the folder; nothing else is fetched
        lpips = lpips_arch.LPIPS(net="alex", version="0.1", pretrained=False)
        torch.save(lpips.state_dict(), hub / "pyiqa" / "LPIPS_v0.1_alex-df73285e.pth")
        with mock.patch.object(inception, "load_pretrained_network", lambda *a, **k: None):
            net = inception.fid_inception_v3()
        torch.save(net.state_dict(), hub / "pyiqa" / "pt_inception-2015-12-05-6726825d.pth")
        musiq = musiq_arch.MUSIQ(pretrained=False)
        torch.save(musiq.state_dict(), hub / "pyiqa" / "musiq_koniq_ckpt-e95806b9.pth")
    return root
