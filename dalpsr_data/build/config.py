"""The frozen configuration of `dalpsr-data build` (fields = CLI options).

Only the fields in ``OUTPUT_FIELDS`` (plus the ``patches:`` and ``degradation:`` sections)
decide the bytes of the output; they are hashed into the plan. Workers, address,
executor, retries, --overwrite and --strict change how a build runs, never what it makes,
so a build may be resumed with a different worker count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dalpsr_data.config_io import ConfigError, opt, to_dict
from dalpsr_data.sources import parse_sources

EXECUTORS = ("ray", "local")
SMALL_POLICIES = ("pad", "skip")
OUTPUT_FIELDS = ("sources", "seed", "shard_size", "limit", "png_compression")

__all__ = ["BuildConfig", "PatchConfig", "EXECUTORS", "OUTPUT_FIELDS", "output_config"]


@dataclass(frozen=True)
class PatchConfig:
    """The ``patches:`` preset section.

    per_image: patches cropped from every source image (each at its own random position).
    small_policy: "pad" (reflect-pad bottom/right up to ``size``) or "skip".
    min_side: images whose shorter side is below this are skipped (pixels).
    max_pixels: decoded images above this many pixels are skipped (bomb guard).
    repeat_crops: let a photo with fewer distinct crop positions than ``per_image`` repeat
        crops (each with its own degradation), e.g. to train a degradation estimator on a
        few small photos; off: such a photo yields one patch per distinct position.
    """

    per_image: int = 4
    small_policy: str = "pad"
    min_side: int = 128
    max_pixels: int = 178_956_970  # Pillow's own error threshold (2 x MAX_IMAGE_PIXELS)
    repeat_crops: bool = False

    def __post_init__(self) -> None:
        if self.per_image < 1:
            raise ValueError(f"per_image must be >= 1, got {self.per_image}")
        if self.small_policy not in SMALL_POLICIES:
            raise ValueError(f"small_policy must be one of {SMALL_POLICIES}, got {self.small_policy!r}")
        if self.min_side < 1:
            raise ValueError(f"min_side must be >= 1, got {self.min_side}")
        if self.max_pixels < 1:
            raise ValueError(f"max_pixels must be >= 1, got {self.max_pixels}")


@dataclass(frozen=True)
class BuildConfig:
    """Options of `dalpsr-data build`; see docs/build.md for each one."""

    sources: tuple[str, ...] = opt(("samples",), "Sources: div2k, div8k, flickr2k, ost, ffhq, samples, name=PATH or folder=PATH; comma-separated or repeated.")
    data_root: str = opt("data", "Folder holding the official datasets (DIV2K/, DIV8K/, Flickr2K/, OST/, FFHQ/).")
    out: str = opt("shards", "Output folder for shards, index.json, report.json and build.json.")
    seed: int = opt(0, "Build seed: every crop and degradation is drawn from (seed, key).")
    workers: int = opt(0, "Shards processed at once (Ray CPUs when embedded); 0 = all CPUs.")
    address: str | None = opt(None, "Address of an existing Ray cluster; without it Ray starts embedded.")
    connect_timeout: float = opt(15.0, "Seconds to wait for the Ray cluster at --address before giving up.")
    shard_size: int = opt(256, "Patches per shard.")
    limit: int | None = opt(None, "Use at most N files of each source (the first in sorted order); not given: all files.")
    pipeline: str = opt("paper", "Preset whose build:, patches: and degradation: sections apply.")
    overwrite: bool = opt(False, "Delete the previous build in --out and start from scratch.")
    strict: bool = opt(False, "Fail (exit 1, no index.json) when any file is skipped.")
    executor: str = opt("ray", "ray (default; embedded or --address) or local (one process, for debugging).")
    max_retries: int = opt(2, "Retries of a failing shard.")
    png_compression: int = opt(-1, "PNG encoding: -1 Sub filter + ISA-L deflate (2 ms a 512 px PNG); 0-9: cv2 at that zlib level.")

    def __post_init__(self) -> None:
        # "div2k,flickr2k" is two sources, as `--sources div2k --sources flickr2k` is
        if isinstance(self.sources, tuple):  # anything else is refused by output_config
            object.__setattr__(self, "sources", tuple(s.strip() for item in self.sources
                                                      for s in item.split(",") if s.strip()))
        if not self.sources:
            raise ValueError("no sources given: e.g. --sources samples")
        if self.shard_size < 1:
            raise ValueError(f"shard_size must be >= 1, got {self.shard_size}")
        if self.workers < 0:
            raise ValueError(f"workers must be >= 0 (0 = all CPUs), got {self.workers}")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"limit must be >= 1 when given, got {self.limit}")
        if self.executor not in EXECUTORS:
            raise ValueError(f"executor must be one of {EXECUTORS}, got {self.executor!r}")
        if not self.connect_timeout > 0:
            raise ValueError(f"connect_timeout must be > 0 seconds, got {self.connect_timeout}")
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {self.max_retries}")
        if not -1 <= self.png_compression <= 9:
            raise ValueError(f"png_compression must be -1 (fast default) or in [0, 9], got {self.png_compression}")


# The version of what the shards' bytes mean beyond the configuration: 2 = issue 21's faster
# pipeline (table normal draws, skew-corrected Poisson counts, Sub-filter + ISA-L PNGs); 3 = its
# second pass (small Poisson counts from quantile tables, two-pass USM blur, DFT blur for
# kernels of 15+ taps: the same sums, other float roundings); builds without the field are
# version 1. Hashed into the plan, so resuming an older build with this
# code is refused ("configuration fields changed: shard_format") instead of mixing the two.
SHARD_FORMAT = 3


def output_config(cfg: BuildConfig, patch_cfg: PatchConfig, deg_cfg: Any) -> dict[str, Any]:
    """The part of the configuration that decides the output bytes (hashed into the plan)."""
    if not isinstance(cfg.sources, tuple):
        raise ConfigError("BuildConfig.sources must be a tuple of strings")

    build = {k: to_dict(getattr(cfg, k)) for k in OUTPUT_FIELDS}
    # Labels and readers, not paths: moving the data must not invalidate a build (the plan
    # hash still covers every file's relative path and size).
    build["sources"] = sorted(f"{s.label}:{s.kind}" for s in parse_sources(cfg.sources))
    return {
        "build": build,
        "patches": to_dict(patch_cfg),
        "degradation": to_dict(deg_cfg),
        "shard_format": SHARD_FORMAT,
    }
