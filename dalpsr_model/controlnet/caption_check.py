"""Before a ControlNet run with ``--use-captions``: does the build have captions?

``--use-captions`` is on by default (the paper prompts with restoration prompt + caption),
and a sample without a caption trains on the restoration prompt alone. A build with no
captions at all would then train silently without them, so it is refused before any work
(run ``dalpsr-data caption``, or pass ``--no-use-captions``); a partly captioned build is
trained with a warning that counts the samples without a caption.
"""

from __future__ import annotations

from dataclasses import dataclass

from dalpsr_data.buildinfo import BuildInfo
from dalpsr_data.config_io import ConfigError


@dataclass(frozen=True)
class CaptionCoverage:
    """Samples of a build with a non-empty caption, out of ``total``; ``uncaptioned_shards``:
    shards with no committed sidecar; ``failed``: records whose caption is empty (an error)."""

    captioned: int
    total: int
    uncaptioned_shards: int
    failed: int

    @property
    def missing(self) -> int:
        return self.total - self.captioned


def caption_coverage(build: BuildInfo) -> CaptionCoverage:
    """Count captions through the build's caption sidecars (BuildInfo.captions); reads the
    small jsonl sidecars only, never the shards."""
    captioned = uncaptioned = failed = 0
    for url, n in zip(build.urls, build.sizes):
        records = build.captions(url)
        if not records:
            uncaptioned += 1
            continue
        ok = sum(1 for rec in records.values() if str(rec.get("caption") or "").strip())
        captioned += ok
        failed += len(records) - ok
    return CaptionCoverage(captioned, sum(build.sizes), uncaptioned, failed)


def check_captions(build: BuildInfo, use_captions: bool) -> str | None:
    """Refuse (ConfigError) a build with no caption when captions are used; return a warning
    for a partly captioned one (None when every sample has a caption or captions are off)."""
    if not use_captions:
        return None
    cov = caption_coverage(build)
    if cov.captioned == 0:
        what = ("no captions/ sidecars" if cov.uncaptioned_shards == len(build.urls)
                else "no non-empty caption")
        raise ConfigError(f"--use-captions: {build.root} has {what} ({cov.total} samples): run "
                          f"`dalpsr-data caption {build.root}` first, or pass --no-use-captions to "
                          f"train on the restoration prompts alone")
    if cov.missing == 0:
        return None
    parts = [f"{cov.uncaptioned_shards} uncaptioned shard(s)"] if cov.uncaptioned_shards else []
    parts += [f"{cov.failed} failed caption(s)"] if cov.failed else []
    return (f"{cov.missing} of {cov.total} samples in {build.root} have no caption ({', '.join(parts)}): "
            f"they train on the restoration prompt alone; `dalpsr-data caption {build.root}` "
            f"captions the missing shards")
