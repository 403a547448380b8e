"""The frozen configuration of `dalpsr-data build` (fields = CLI options).

Only the fields in ``OUTPUT_FIELDS`` (plus the ``patches:`` and ``degradation:`` sections)
decide the bytes of the output; they are hashed into the plan. Workers, address,
executor, retries, --overwrite and --strict change how a build runs, never what it makes,
so a build may be resumed with a different worker count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dalpsr_data.config_io import ConfigError, load_config, to_dict
from dalpsr_data.degradation import DegradationConfig
from dalpsr_data.patches import PatchConfig
from dalpsr_data.sources import parse_sources

EXECUTORS = ("ray", "local")
OUTPUT_FIELDS = ("sources", "seed", "shard_size", "limit", "png_compression")

__all__ = ["BuildConfig", "PatchConfig", "EXECUTORS", "OUTPUT_FIELDS", "load_build_configs",
           "output_config"]


@dataclass(frozen=True)
class BuildConfig:
    """Options of `dalpsr-data build`; see docs/build.md for each one."""

    sources: tuple[str, ...] = ("samples",)
    data_root: str = "data"
    out: str = "shards"
    seed: int = 0
    workers: int = 0  # 0: every CPU of this machine (or of the cluster with --address)
    address: str | None = None
    connect_timeout: float = 15.0  # seconds to reach the Ray cluster at `address`
    shard_size: int = 256
    limit: int | None = None  # at most this many files per source (first in sorted order)
    pipeline: str = "paper"
    overwrite: bool = False
    strict: bool = False
    executor: str = "ray"
    max_retries: int = 2
    png_compression: int = -1  # -1: Sub filter + ISA-L deflate (2 ms a 512 px PNG); 0..9: cv2 at that zlib level

    def __post_init__(self) -> None:
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


def load_build_configs(pipeline: str, overrides: dict[str, Any] | None = None,
                       patch_overrides: dict[str, Any] | None = None,
                       degradation_overrides: dict[str, Any] | None = None):
    """(BuildConfig, PatchConfig, DegradationConfig) from a preset plus overrides.

    Fails with ConfigError before any work when a section has an unknown or bad field.
    """

    build = load_config(BuildConfig, pipeline, "build", {**(overrides or {}), "pipeline": pipeline})
    patches = load_config(PatchConfig, pipeline, "patches", patch_overrides)
    degradation = load_config(DegradationConfig, pipeline, "degradation", degradation_overrides)
    return build, patches, degradation


# The version of what the shards' bytes mean beyond the configuration: 2 = issue 21's faster
# pipeline (table normal draws, skew-corrected Poisson counts, Sub-filter + ISA-L PNGs); builds
# without the field are version 1. Hashed into the plan, so resuming an older build with this
# code is refused ("configuration fields changed: shard_format") instead of mixing the two.
SHARD_FORMAT = 2


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
