"""One opened build: what every consumer of a build folder needs, read once.

    build = BuildInfo.open("shards")            # fails at once, naming what to run
    build.patch_size, build.scale, build.lr_size   # geometry from build.json (512 / 4 / 128 by default)
    build.urls, build.sizes                     # the shard list of index.json
    build.captions(url)                         # caption records of one shard by key
    for key, members, record in build.iter_samples(captions="optional"): ...

The loader, the latent cache, validation and the trainers take a ``BuildInfo`` (their
public entry points still accept a path and open it here), so the folder layout, the
shard geometry and the caption join are decided in this one place. A build made before
build.json recorded the geometry (or a schema-conforming folder from another tool, with
no build.json) is read with the defaults of the degradation config, 512 px / x4.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from dalpsr_data import schema
from dalpsr_data.config_io import ConfigError

CAPTION_MODES = ("required", "optional", "captioned_only", "ignore")


class MissingBuildError(schema.ShardFormatError, ConfigError):
    """No finished build in the folder (caught as a ShardFormatError or as a ConfigError)."""


@dataclass(frozen=True)
class Geometry:
    """Side lengths of a build's patches: HR ``patch_size`` px, LR ``patch_size // scale`` px."""

    patch_size: int = schema.DEFAULT_PATCH_SIZE
    scale: int = schema.DEFAULT_SCALE

    def __post_init__(self) -> None:
        if self.scale < 1 or self.patch_size < self.scale or self.patch_size % self.scale:
            raise schema.ShardFormatError(f"patch size {self.patch_size} is not a multiple of scale {self.scale}")

    @property
    def lr_size(self) -> int:
        return self.patch_size // self.scale


def _read_geometry(root: Path) -> tuple[Geometry, str]:
    """(geometry, plan hash) from build.json; the defaults and "" when there is none."""
    path = root / schema.BUILD_JSON
    if not path.is_file():
        return Geometry(), ""
    try:
        with open(path, encoding="utf-8") as f:
            meta = json.load(f)
        deg = (meta.get("config") or {}).get("degradation") or \
            (meta.get("output_config") or {}).get("degradation") or {}
        geometry = Geometry(int(deg.get("patch_size", schema.DEFAULT_PATCH_SIZE)),
                            int(deg.get("scale", schema.DEFAULT_SCALE)))
        return geometry, str(meta.get("plan_hash", ""))
    except (ValueError, TypeError, AttributeError) as e:
        raise schema.ShardFormatError(f"{path}: unreadable ({e}); rebuild with "
                                      f"`{schema.build_command(root)}`") from e


@dataclass(frozen=True)
class BuildInfo:
    """A finished build folder, opened once (see the module docstring).

    ``shards``: the index.json entries ({"url": "shard-000000.tar", "nsamples": int}) in
    index order; ``plan_hash``: build.json's ("" without a build.json).
    """

    root: Path
    shards: tuple[dict[str, Any], ...]
    geometry: Geometry
    plan_hash: str = ""

    @classmethod
    def open(cls, root: str | Path, option: str = "") -> "BuildInfo":
        """Read index.json and build.json of ``root``; raises MissingBuildError when there is
        no finished build there, ShardFormatError when its files are malformed. ``option``:
        the command-line option that gave ``root`` (e.g. "--shards"), named in the message."""
        root = Path(root)
        if not (root / schema.INDEX_JSON).is_file():
            state = ("unfinished" if (root / schema.BUILD_JSON).is_file()
                     else "missing" if not root.is_dir() else "not a build folder")
            given = f"{option} {root}: " if option else ""
            raise MissingBuildError(f"{given}{root / schema.INDEX_JSON} not found: {root} is {state} (run "
                                    f"`{schema.build_command(root)}` to make or finish the build)")
        index = schema.read_index(root)
        geometry, plan_hash = _read_geometry(root)
        return cls(root, tuple(index["shardlist"]), geometry, plan_hash)

    @classmethod
    def of(cls, root_or_build: "str | Path | BuildInfo") -> "BuildInfo":
        """``root_or_build`` itself when it is opened already, else ``BuildInfo.open`` of it."""
        return root_or_build if isinstance(root_or_build, BuildInfo) else cls.open(root_or_build)

    @property
    def patch_size(self) -> int:
        return self.geometry.patch_size

    @property
    def scale(self) -> int:
        return self.geometry.scale

    @property
    def lr_size(self) -> int:
        return self.geometry.lr_size

    @property
    def urls(self) -> list[str]:
        return [e["url"] for e in self.shards]

    @property
    def sizes(self) -> list[int]:
        return [int(e["nsamples"]) for e in self.shards]

    def shard_path(self, url: str) -> Path:
        return self.root / url

    @property
    def caption_dir(self) -> Path:
        return self.root / schema.CAPTIONS_DIR

    def captions(self, url: str) -> dict[str, dict[str, Any]]:
        """Caption records of shard ``url`` by key; {} when the shard is not captioned."""
        return schema.read_caption_sidecar(self.root, url)

    def latent_dir(self, vae_hash: str) -> Path:
        """Where the latent cache of the VAE with hash ``vae_hash`` lives."""
        return self.root / schema.LATENTS_DIR / vae_hash

    def iter_samples(self, shard_indices: list[int] | None = None, *, captions: str = "optional"
                     ) -> Iterator[tuple[str, dict[str, bytes], dict[str, Any]]]:
        """The join of build shards and caption sidecars: (key, raw members, caption record).

        Shards in index order (or ``shard_indices``), samples in tar order; members as in
        ``schema.iter_tar_samples``. ``captions``: "required" (an uncaptioned shard or a sample
        without a record is a ShardFormatError naming what to run), "optional" (record {} when
        there is none), "captioned_only" (samples without a record are skipped) or "ignore"
        (the sidecars are not read: record {}).
        """
        if captions not in CAPTION_MODES:
            raise ValueError(f"captions must be one of {CAPTION_MODES}, got {captions!r}")
        chosen = range(len(self.shards)) if shard_indices is None else shard_indices
        for i in chosen:
            url = self.shards[i]["url"]
            records = self.captions(url) if captions != "ignore" else {}
            if not records and captions == "required":
                raise schema.ShardFormatError(f"{url} in {self.root} has no committed caption sidecar: "
                                              f"run `dalpsr-data caption {self.root}` first")
            for key, members in schema.iter_tar_samples(self.shard_path(url)):
                rec = records.get(key)
                if rec is None:
                    if captions == "required":
                        raise schema.ShardFormatError(f"{url}: sample {key!r} has no caption record")
                    if captions == "captioned_only":
                        continue
                    rec = {}
                yield key, members, rec
