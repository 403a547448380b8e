"""`dalpsr-data build`: a plan on the driver, one task per shard, commit markers, report.

Plain Python entry point (no CLI needed)::

    from dalpsr_data.build.config import BuildConfig, PatchConfig
    from dalpsr_data.build.runner import run_build
    result = run_build(BuildConfig(sources=("samples",), out="shards/x", executor="local"))

This package imports nothing: ``dalpsr_data.build.config`` stays light (no numpy-heavy
decoders, no cv2, no Ray) so that the command line parses and checks options at once.
"""
