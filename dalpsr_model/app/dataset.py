"""The Dataset tab's data: every sample of the `--shards` builds, indexed once at start.

    index = DatasetIndex.open(("shards/demo",))       # MissingBuildError names --shards
    ids = index.select(source="samples", bins={"blur": 3})   # sample ids in build/index order
    index.thumbnail(i); index.detail(i)                # LR; HR, LR nearest x4, prompt, caption, deg table

The index reads each shard's tar headers once (member offsets) and the small members
(deg.json, src.json, prompt.txt); images are read by seeking when shown. Only the folders
given at start are read: a visitor never names a path. Bin histograms are drawn by
`dalpsr-data stats --plot`'s own function.
"""

from __future__ import annotations

import json
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dalpsr_data import schema
from dalpsr_data.build.inspect import plot_stats
from dalpsr_data.buildinfo import BuildInfo

SMALL_MEMBERS = ("deg.json", "src.json", "prompt.txt")


@dataclass(frozen=True)
class SampleRef:
    """One sample: where its members are (``members``: ext -> (offset, size) in ``tar``)
    and what the filters need (``bins``: blur, noise, jpeg in 0..3)."""

    build: int
    key: str
    tar: Path
    members: dict[str, tuple[int, int]]
    source: str
    bins: tuple[int, ...]
    deg: dict[str, Any]
    prompt: str
    caption: str


def _read(tar: Path, span: tuple[int, int]) -> bytes:
    with open(tar, "rb") as f:
        f.seek(span[0])
        return f.read(span[1])


def _shard_samples(build_id: int, build: BuildInfo, url: str) -> list[SampleRef]:
    tar = build.shard_path(url)
    spans: dict[str, dict[str, tuple[int, int]]] = {}
    smalls: dict[str, dict[str, bytes]] = {}  # read in the one pass over the tar; images stay on disk
    with tarfile.open(tar, mode="r:") as tf:
        for info in tf:
            if not info.isfile():
                raise schema.ShardFormatError(f"{tar}: member {info.name!r} is not a regular file")
            key, ext = schema.split_member_name(info.name)
            spans.setdefault(key, {})[ext] = (info.offset_data, info.size)
            if ext in SMALL_MEMBERS:
                smalls.setdefault(key, {})[ext] = tf.extractfile(info).read()
    captions = build.captions(url)
    out = []
    for key, members in spans.items():
        small = smalls.get(key, {})
        deg = json.loads(small.get("deg.json", b"{}"))
        src = json.loads(small.get("src.json", b"{}"))
        bins = tuple(int(deg.get("bins", {}).get(t, -1)) for t in schema.DEGRADATION_TYPES)
        out.append(SampleRef(build_id, key, tar, members, str(src.get("source", "?")), bins, deg,
                             small.get("prompt.txt", b"").decode("utf-8"),
                             str(captions.get(key, {}).get("caption", ""))))
    return out


def deg_rows(deg: dict[str, Any], prefix: str = "") -> list[list[str]]:
    """deg.json flattened to [parameter, value] rows ("stage1.kernel.sigma_x", "2.87")."""
    rows = []
    for name, value in deg.items():
        path = f"{prefix}{name}"
        if isinstance(value, dict):
            rows += deg_rows(value, path + ".")
        else:
            rows.append([path, f"{value:.4g}" if isinstance(value, float) else str(value)])
    return rows


def nearest_x4(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) -> (4H, 4W, 3), each pixel repeated (the LR's real pixels, not smoothed)."""
    return np.repeat(np.repeat(rgb, 4, axis=0), 4, axis=1)


class DatasetIndex:
    """Samples of the given builds in build order, then index (shard) order, then tar order."""

    def __init__(self, builds: list[BuildInfo], samples: list[SampleRef]) -> None:
        self.builds, self.samples = builds, samples

    @classmethod
    def open(cls, roots: tuple[str, ...]) -> DatasetIndex:
        builds = [BuildInfo.open(r, "--shards") for r in roots]
        samples = []
        for i, build in enumerate(builds):
            for url in build.urls:
                samples += _shard_samples(i, build, url)
        return cls(builds, samples)

    @property
    def sources(self) -> list[str]:
        return sorted({s.source for s in self.samples})

    def select(self, source: str = "", bins: dict[str, int] | None = None) -> list[int]:
        """Ids of the samples of ``source`` ("" = any) whose bin of each type in ``bins`` matches."""
        want = {schema.DEGRADATION_TYPES.index(t): b for t, b in (bins or {}).items()}
        return [i for i, s in enumerate(self.samples)
                if (not source or s.source == source) and all(s.bins[t] == b for t, b in want.items())]

    def image(self, i: int, ext: str) -> np.ndarray:
        s = self.samples[i]
        return schema.decode_png_member(_read(s.tar, s.members[ext]))

    def thumbnail(self, i: int) -> np.ndarray:
        return self.image(i, "lr.png")

    def detail(self, i: int) -> dict[str, Any]:
        """HR, LR nearest x4, prompt, caption and the deg.json table of sample ``i``."""
        s = self.samples[i]
        return {"key": s.key, "hr": self.image(i, "hr.png"), "lr_x4": nearest_x4(self.thumbnail(i)),
                "prompt": s.prompt, "caption": s.caption, "deg": deg_rows(s.deg),
                "build": str(self.builds[s.build].root), "source": s.source}

    def histograms(self, folder: Path) -> list[Path]:
        """One `dalpsr-data stats --plot` PNG per build (degrees and bins from deg.json)."""
        paths = []
        for b, build in enumerate(self.builds):
            mine = [s for s in self.samples if s.build == b]
            bins = {t: [sum(1 for s in mine if s.bins[k] == n) for n in range(schema.NUM_BINS)]
                    for k, t in enumerate(schema.DEGRADATION_TYPES)}
            degrees = {t: [float(s.deg.get("degrees", {}).get(t, -1.0)) for s in mine]
                       for t in schema.DEGRADATION_TYPES}
            path = folder / f"histograms-{b}.png"
            plot_stats({"bins": bins}, degrees, path)
            paths.append(path)
        return paths
