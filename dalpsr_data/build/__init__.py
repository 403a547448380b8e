"""`dalpsr-data build`: a plan on the driver, one task per shard, commit markers, report.

Plain Python entry point (no CLI needed)::

    from dalpsr_data.build import BuildConfig, PatchConfig, run_build
    result = run_build(BuildConfig(sources=("samples",), out="shards/x", executor="local"))
"""

from dalpsr_data.build.config import BuildConfig, PatchConfig, load_build_configs
from dalpsr_data.build.runner import BuildFailed, BuildResult, run_build

__all__ = ["BuildConfig", "BuildFailed", "BuildResult", "PatchConfig", "load_build_configs",
           "run_build"]
