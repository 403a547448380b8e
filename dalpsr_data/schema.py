"""The on-disk layout of a build folder, and plain readers for it.

A build folder (default ``shards/``) holds::

    build.json                     plan hash + resolved configuration (written first)
    shard-000000.tar               WebDataset shard, members sorted by key then extension
    shard-000000.done.json         commit marker, written after the tar is renamed into place
    index.json                     wids index, written when every shard is committed
    report.json                    counts, skips with reasons, timings
    captions/shard-000000.jsonl    caption sidecar (one JSON object per sample, sorted by key)
    captions/shard-000000.done.json  its commit marker
    latents/<vae-hash>/shard-000000.safetensors  VAE latent cache of the ControlNet trainer

``dalpsr_data.buildinfo.BuildInfo`` opens such a folder once for every consumer.

Members of one sample ``<key>`` (keys match ``KEY_PATTERN``: no dots)::

    <key>.hr.png     P x P RGB, 8 bit, lossless (P: build.json's patch_size, default 512)
    <key>.lr.png     P/s x P/s RGB, 8 bit, lossless (s: build.json's scale, default 4)
    <key>.deg.json   raw parameters, severities, degrees, bins, calibration version
    <key>.prompt.txt restoration prompt, UTF-8
    <key>.src.json   source, relative path, crop box, seed, conversions

Only raw bytes are read here; nothing is ever unpickled.
"""

from __future__ import annotations

import json
import re
import shlex
import tarfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

if TYPE_CHECKING:
    import numpy as np

KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,200}$")
SAMPLE_MEMBERS = ("deg.json", "hr.png", "lr.png", "prompt.txt", "src.json")
BUILD_JSON = "build.json"
INDEX_JSON = "index.json"
REPORT_JSON = "report.json"
CAPTIONS_DIR = "captions"
LATENTS_DIR = "latents"
# The one definition of the degradation types and of the bins per type (degrees cut at
# 1/NUM_BINS steps); calibration, prompts, the report and IRPAD's heads read them from here.
DEGRADATION_TYPES = ("blur", "noise", "jpeg")
NUM_BINS = 4
# Geometry of a build that does not record it (build.json without patch_size/scale, or no
# build.json); also the defaults of DegradationConfig.
DEFAULT_PATCH_SIZE = 512
DEFAULT_SCALE = 4


class ShardFormatError(ValueError):
    """A shard or index that does not follow this schema."""


def shard_name(index: int) -> str:
    return f"shard-{index:06d}.tar"


def marker_path(path: str | Path) -> Path:
    """The commit marker of the file ``path`` (a shard, a caption sidecar, a latent file):
    ``shard-000000.tar`` / ``.jsonl`` / ``.safetensors`` -> ``shard-000000.done.json``."""
    return Path(path).with_suffix(".done.json")


def caption_sidecar_path(root: str | Path, tar_name: str) -> Path:
    return Path(root) / CAPTIONS_DIR / (tar_name.removesuffix(".tar") + ".jsonl")


def caption_marker_path(root: str | Path, tar_name: str) -> Path:
    return marker_path(caption_sidecar_path(root, tar_name))


def is_captioned(root: str | Path, tar_name: str) -> bool:
    """The one test of a captioned shard: its sidecar and, written after it, its marker exist."""
    return caption_sidecar_path(root, tar_name).is_file() and caption_marker_path(root, tar_name).is_file()


def build_command(root: str | Path) -> str:
    """The ``dalpsr-data build`` command that makes (or finishes, or repairs: a rerun rebuilds
    missing shards) the build in ``root``, from the configuration its build.json records; a
    template to fill in when there is none."""
    root = str(root)
    try:
        with open(Path(root) / BUILD_JSON, encoding="utf-8") as f:
            config = json.load(f)["config"]
        build, patches = config["build"], config.get("patches") or {}
        args = ["dalpsr-data", "build", "--sources", ",".join(build["sources"]),
                "--data-root", str(build["data_root"]), "--out", root,
                "--pipeline", str(build["pipeline"]), "--seed", str(build["seed"]),
                "--shard-size", str(build["shard_size"])]
        if build.get("limit") is not None:
            args += ["--limit", str(build["limit"])]
        if "per_image" in patches:
            args += ["--patches-per-image", str(patches["per_image"])]
        if patches.get("repeat_crops"):
            args.append("--repeat-crops")
        return shlex.join(args)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return f"dalpsr-data build --sources <your sources> --out {shlex.quote(root)}"


def _json_error(path: Path, e: ValueError) -> str:
    """'<path>: line L: <what>' for a JSON file that does not parse."""
    where = f"line {e.lineno}: " if isinstance(e, json.JSONDecodeError) else ""
    what = e.msg if isinstance(e, json.JSONDecodeError) else str(e)
    return f"{path}: {where}not valid JSON ({what})"


def read_index(root: str | Path) -> dict[str, Any]:
    """Load and validate ``index.json`` of a finished build."""
    path = Path(root) / INDEX_JSON
    if not path.is_file():
        raise ShardFormatError(
            f"{path} not found: the build in {root} is missing or unfinished "
            f"(run `{build_command(root)}` to finish it)")
    try:
        with open(path, encoding="utf-8") as f:
            index = json.load(f)
    except ValueError as e:  # e.g. a 0-byte file: the build rewrites it once every shard is in
        raise ShardFormatError(f"{_json_error(path, e)}: rerun `{build_command(root)}` to "
                               f"write it again") from None
    if not isinstance(index, dict):
        raise ShardFormatError(f"{path}: not a build index (a JSON object with 'shardlist')")
    shards = index.get("shardlist")
    if not isinstance(shards, list):
        raise ShardFormatError(f"{path}: no 'shardlist' list")
    for entry in shards:
        url = entry.get("url", "")
        if "/" in url or "\\" in url or not url.endswith(".tar"):
            raise ShardFormatError(f"{path}: shard url {url!r} must be a plain file name")
        if not isinstance(entry.get("nsamples"), int):
            raise ShardFormatError(f"{path}: shard {url!r} has no integer nsamples")
    return index


def split_member_name(name: str) -> tuple[str, str]:
    """``key.hr.png`` -> (``key``, ``hr.png``); rejects paths and odd names."""
    if "/" in name or "\\" in name or name.startswith("."):
        raise ShardFormatError(f"unsafe tar member name {name!r}")
    key, sep, ext = name.partition(".")
    if not sep or not KEY_PATTERN.match(key):
        raise ShardFormatError(f"bad tar member name {name!r}")
    return key, ext


def iter_tar_samples(tar_path: str | Path) -> Iterator[tuple[str, dict[str, bytes]]]:
    """Yield ``(key, {extension: bytes})`` per sample, in tar order.

    Members of one key are contiguous (the writer sorts them). Only regular files
    are read; links and devices are rejected.
    """
    current: str | None = None
    members: dict[str, bytes] = {}
    with tarfile.open(tar_path, mode="r:") as tf:
        for info in tf:
            if not info.isfile():
                raise ShardFormatError(f"{tar_path}: member {info.name!r} is not a regular file")
            key, ext = split_member_name(info.name)
            if current is not None and key != current:
                yield current, members
                members = {}
            current = key
            f = tf.extractfile(info)
            assert f is not None
            members[ext] = f.read()
    if current is not None:
        yield current, members


def decode_png_member(data: bytes) -> "np.ndarray":
    """An ``hr.png``/``lr.png`` member -> uint8 (H, W, 3) RGB, a writable copy.

    Pillow's decompression-bomb guard stays on; raises OSError/ValueError on bad bytes.
    """
    import io

    import numpy as np
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        return np.array(im.convert("RGB"), dtype=np.uint8)


def read_caption_sidecar(root: str | Path, tar_name: str) -> dict[str, dict[str, Any]]:
    """Caption records of one build shard by key; {} when the shard is not captioned."""
    if not is_captioned(root, tar_name):
        return {}
    path = caption_sidecar_path(root, tar_name)
    out: dict[str, dict[str, Any]] = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    rec = json.loads(line)
                    out[rec["key"]] = rec
                except (ValueError, KeyError, TypeError) as e:
                    what = e.msg if isinstance(e, json.JSONDecodeError) else f"no 'key' ({e!r})"
                    raise ShardFormatError(
                        f"{path}: line {n}: not a caption record ({what}): restore the file, or "
                        f"caption again with `dalpsr-data caption {root} --overwrite`") from None
    return out
