"""What `dalpsr-sr` processes: INPUT arguments -> keyed items, each read as raw bytes.

- a file: key = its stem (``OUT/<stem>.png``);
- a folder: every image file below it, recursively, sorted; key = path relative to the
  folder without extension (``OUT/<sub>/<stem>.png``);
- a build folder (``index.json`` of `dalpsr-data build`): the ``<key>.lr.png`` member of
  every sample of every shard; key = the sample key. Members are located once (tar header
  offsets) and read by seeking, so a large build is not rescanned per image.

Two inputs that map to the same key are a configuration error (one output would overwrite
the other). Hidden files and our own ``.tmp-`` files are skipped.
"""

from __future__ import annotations

import dataclasses
import tarfile
from pathlib import Path

from dalpsr_data import schema
from dalpsr_data.buildinfo import BuildInfo
from dalpsr_data.config_io import ConfigError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
LR_MEMBER = "lr.png"


@dataclasses.dataclass(frozen=True)
class InputItem:
    """One LR image: ``key`` names the output (``OUT/<key>.png``) and seeds its noise.

    ``path``: the file, or the tar holding it; ``offset``/``size``: the member's bytes in
    the tar (-1 for a plain file).
    """

    key: str
    path: str
    offset: int = -1
    size: int = -1

    def read(self) -> bytes:
        if self.offset < 0:
            return Path(self.path).read_bytes()
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            return f.read(self.size)


def _folder_items(folder: Path) -> list[InputItem]:
    items = []
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts) or not p.is_file():
            continue
        if p.suffix.lower() in IMAGE_EXTENSIONS:
            items.append(InputItem(key=rel.with_suffix("").as_posix(), path=str(p)))
    return items


def _build_items(root: Path) -> list[InputItem]:
    try:
        build = BuildInfo.open(root)
    except schema.ShardFormatError as e:
        raise ConfigError(str(e)) from e
    items = []
    for url in build.urls:
        tar_path = build.shard_path(url)
        if not tar_path.is_file():
            raise ConfigError(f"{tar_path} (listed in {root / schema.INDEX_JSON}) does not exist")
        with tarfile.open(tar_path) as tf:
            for info in tf:
                key, _, ext = info.name.partition(".")
                if ext == LR_MEMBER and info.isfile():
                    items.append(InputItem(key=key, path=str(tar_path), offset=info.offset_data,
                                           size=info.size))
    return items


def collect_inputs(inputs: tuple[str, ...]) -> list[InputItem]:
    """Items of every INPUT in argument order (folders sorted); ConfigError on a bad INPUT."""
    items: list[InputItem] = []
    for arg in inputs:
        p = Path(arg)
        if p.is_file():
            if p.suffix.lower() not in IMAGE_EXTENSIONS:
                raise ConfigError(f"INPUT {p} is not an image file ({', '.join(IMAGE_EXTENSIONS)})")
            items.append(InputItem(key=p.stem, path=str(p)))
        elif p.is_dir() and (p / schema.INDEX_JSON).is_file():
            items += _build_items(p)
        elif p.is_dir():
            found = _folder_items(p)
            if not found:
                raise ConfigError(f"INPUT folder {p} holds no image file ({', '.join(IMAGE_EXTENSIONS)})")
            items += found
        else:
            raise ConfigError(f"INPUT {p} does not exist")
    seen: dict[str, str] = {}
    for item in items:
        if item.key in seen:
            raise ConfigError(f"two inputs would both be written to {item.key}.png: "
                              f"{seen[item.key]} and {item.path}; give them separately to different --out folders")
        seen[item.key] = item.path
    return items
