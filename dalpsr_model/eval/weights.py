"""The weight files each pyiqa metric loads, laid out as pyiqa's caches, checked before any work.

``--weights-dir DIR`` is laid out as ``$TORCH_HOME`` after pyiqa ran online once: pyiqa keeps
its own checkpoints in ``<torch hub dir>/pyiqa``, torchvision its backbones in
``<torch hub dir>/checkpoints``, OpenAI CLIP in ``<torch hub dir>/clip``; timm's ViT for
MANIQA comes from the Hugging Face cache, which we point at the same ``DIR/hub`` folder (its
``models--*`` folders cannot clash with the others). So ``~/.cache/torch`` of a machine that
ran the metrics, plus the one ``models--timm--...`` folder from ``~/.cache/huggingface/hub``,
is a valid ``DIR``. File names are those of pyiqa 0.1.16.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dalpsr_data.hash_cache import files_sha256
from dalpsr_data.config_io import ConfigError

HUB = "hub"
TIMM_VIT = "models--timm--vit_base_patch8_224.augreg2_in21k_ft_in1k"


@dataclass(frozen=True)
class IqaMetric:
    """One paper column: the pyiqa metric behind it and the files it reads under ``DIR``."""

    name: str            # our name (--metrics)
    pyiqa_name: str      # pyiqa.create_metric name
    variant: str         # what the paper's column is, in words
    files: tuple[str, ...]  # paths relative to DIR; a path with '{rev}' is an HF cache snapshot
    lower_better: bool = False


IQA_METRICS: dict[str, IqaMetric] = {m.name: m for m in (
    IqaMetric("lpips", "lpips", "LPIPS v0.1, AlexNet features, inputs in [0, 1]",
              (f"{HUB}/pyiqa/LPIPS_v0.1_alex-df73285e.pth", f"{HUB}/checkpoints/alexnet-owt-7be5be79.pth"),
              lower_better=True),
    IqaMetric("fid", "fid", "FID between the SR and HR folders, clean-fid 'clean' mode, Inception pool3 (2048)",
              (f"{HUB}/pyiqa/pt_inception-2015-12-05-6726825d.pth",), lower_better=True),
    IqaMetric("maniqa", "maniqa-pipal", "MANIQA trained on PIPAL, 20 uniform 224 crops",
              (f"{HUB}/pyiqa/MANIQA_PIPAL-ae6d356b.pth", f"{HUB}/{TIMM_VIT}/snapshots/{{rev}}/model.safetensors")),
    IqaMetric("musiq", "musiq", "MUSIQ trained on KonIQ-10k (score 0..100)",
              (f"{HUB}/pyiqa/musiq_koniq_ckpt-e95806b9.pth",)),
    IqaMetric("clipiqa", "clipiqa", "CLIP-IQA, CLIP RN50, the 5 antonym prompt pairs of pyiqa",
              (f"{HUB}/clip/RN50.pt",)),
)}


def _resolve(root: Path, rel: str) -> tuple[Path | None, str]:
    """(path, name shown in messages); an HF snapshot path is resolved through refs/main."""
    if "{rev}" not in rel:
        return root / rel, rel
    repo = root / rel.split("/snapshots/")[0]
    ref = repo / "refs" / "main"
    shown = rel.replace("{rev}", "<revision in refs/main>")
    if not ref.is_file():
        return None, shown
    rev = ref.read_text(encoding="utf-8").strip()
    return root / rel.replace("{rev}", rev), rel.replace("{rev}", rev)


def check_weights(weights_dir: str | Path | None, metrics: list[str]) -> dict[str, str]:
    """``{relative path: sha256}`` of every file the metrics need; a missing one is a ConfigError.

    Called before any image is read. The message names every missing file by the path
    expected under ``--weights-dir``, so the user can copy exactly those files.
    """
    needed = [IQA_METRICS[m] for m in metrics if m in IQA_METRICS]
    if not needed:
        return {}
    names = ",".join(m.name for m in needed)
    if weights_dir is None:
        raise ConfigError(f"--weights-dir is required for {names} (laid out as pyiqa's torch cache, "
                          "see docs/eval.md), or choose --metrics psnr,ssim")
    root = Path(weights_dir)
    if not root.is_dir():
        raise ConfigError(f"--weights-dir {root} is not a folder")
    missing, found = [], {}
    for m in needed:
        for rel in m.files:
            path, shown = _resolve(root, rel)
            if path is None or not path.is_file():
                missing.append(f"{shown} ({m.name})")
            else:
                found[shown] = path
    if missing:
        raise ConfigError(f"--weights-dir {root} lacks {len(missing)} file(s): " + "; ".join(missing)
                          + " (nothing is downloaded: copy them from a pyiqa cache, see docs/eval.md)")
    hashes = files_sha256(found.values())  # remembered by (path, size, mtime_ns)
    return {shown: hashes[path] for shown, path in sorted(found.items())}
