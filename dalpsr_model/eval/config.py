"""The one frozen config of `dalpsr-eval`; each field becomes a command-line option."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from dalpsr_data.config_io import ConfigError, opt

# Here, not in fidelity.py (cv2, numpy): the command line checks options without them.
SSIM_VARIANTS = ("basicsr", "pyiqa")

# Table I columns first (in the paper's order), then the fidelity metrics it leaves out.
ALL_METRICS = ("lpips", "fid", "maniqa", "musiq", "clipiqa", "psnr", "ssim")
REFERENCE_METRICS = ("lpips", "fid", "psnr", "ssim")  # need --hr
PYIQA_METRICS = ("lpips", "fid", "maniqa", "musiq", "clipiqa")  # need pyiqa and --weights-dir
DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class EvalConfig:
    """Score a folder of SR images with the paper's metrics (Table I) plus PSNR/SSIM."""

    sr: str = opt("", "Folder of SR images (required); keys are file stems.")
    hr: Optional[str] = opt(None,
        "Folder of HR references paired by file stem; without it only no-reference metrics run.")
    lr: Optional[str] = opt(None,
        "Folder of LR inputs paired by file stem; only used for the comparison sheet.")
    out: str = opt("", "Output folder (required): metrics.json, metrics.csv, metrics.md, sheet.png.")
    metrics: str = opt(",".join(ALL_METRICS),
        "Comma-separated metrics among " + ",".join(ALL_METRICS) + "; reference metrics are dropped without --hr.")
    weights_dir: Optional[str] = opt(None,
        "Folder laid out as pyiqa's torch cache (docs/eval.md), needed by lpips,fid,maniqa,musiq,clipiqa; "
        "nothing is downloaded.")
    crop_border: int = opt(0,
        "Pixels removed on each side before PSNR/SSIM (BasicSR's crop_border; 0 as in pyiqa/OSEDiff).")
    ssim_variant: str = opt("basicsr",
        "basicsr (unrounded Y, the definition) or pyiqa (rounded Y, clamped cs: what SeeSR/OSEDiff tables used).")
    device: str = opt("auto", "auto (cuda when available), cpu or cuda, for the pyiqa metrics.")
    fid_batch_size: int = opt(16, "Images per Inception batch for FID.")
    dataset: str = opt("", "Dataset name in the Table I markdown (default: the --hr or --sr folder name).")
    method: str = opt("Ours", "Method column name in the Table I markdown.")
    sheet_images: int = opt(4, "Images in the comparison sheet (0: no sheet).")
    sheet_crop: int = opt(192, "Side in SR pixels of the crop shown per image (the region with the most HR detail).")
    overwrite: bool = opt(False,
        "Replace an earlier evaluation in --out made with other settings (only dalpsr-eval's own files).")

    def __post_init__(self) -> None:
        if not self.sr:
            raise ConfigError("--sr is required (a folder of SR images)")
        if not self.out:
            raise ConfigError("--out is required (the folder for metrics.json and the sheet)")
        unknown = [m for m in self.metric_list_raw() if m not in ALL_METRICS]
        if unknown or not self.metric_list_raw():
            raise ConfigError(f"--metrics: unknown {unknown or 'empty list'}; choose among {','.join(ALL_METRICS)}")
        if self.ssim_variant not in SSIM_VARIANTS:
            raise ConfigError(f"--ssim-variant must be one of {SSIM_VARIANTS}, got {self.ssim_variant!r}")
        if self.device not in DEVICES:
            raise ConfigError(f"--device must be one of {DEVICES}, got {self.device!r}")
        for name in ("crop_border", "sheet_images"):
            if getattr(self, name) < 0:
                raise ConfigError(f"--{name.replace('_', '-')} must be >= 0")
        for name in ("fid_batch_size", "sheet_crop"):
            if getattr(self, name) < 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be >= 1")

    def metric_list_raw(self) -> list[str]:
        """The --metrics list as given, without duplicates, in the given order."""
        names = [m.strip().lower() for m in self.metrics.split(",") if m.strip()]
        return list(dict.fromkeys(names))

    def metric_list(self) -> list[str]:
        """The metrics that run: in Table I order, reference metrics only when --hr is given."""
        wanted = set(self.metric_list_raw())
        return [m for m in ALL_METRICS if m in wanted and (self.hr is not None or m not in REFERENCE_METRICS)]

    def dropped_metrics(self) -> list[str]:
        """Reference metrics asked for but dropped because --hr is missing."""
        return [m for m in ALL_METRICS if m in self.metric_list_raw() and m not in self.metric_list()]

    def pyiqa_metrics(self) -> list[str]:
        return [m for m in self.metric_list() if m in PYIQA_METRICS]
