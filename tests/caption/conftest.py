"""Fixtures for the caption tests: tiny LLaVA and RAM built at test time, a tiny build folder.

The build folder follows dalpsr_data/schema.py exactly (PNG members, deg/prompt/src
json, commit markers, wids index.json); its LR images are smooth random colour fields so
the tiny models see different inputs per sample.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dalpsr_data import schema
from dalpsr_data.atomic import write_json_atomic
from dalpsr_data.caption.config import CaptionConfig
from tests.caption.tiny_ram import TINY_IMAGE_SIZE, build_tiny_ram
from dalpsr_model.models.tiny_llava import build_tiny_llava


def _png(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def _field(rng: np.random.Generator, size: int) -> np.ndarray:
    """A smooth random RGB field (uint8, size x size x 3): 4x4 noise upsampled bilinearly."""
    small = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
    return np.asarray(Image.fromarray(small).resize((size, size), Image.BILINEAR))


def write_tiny_build(root: Path, sizes: list[int], seed: int = 0, hr_size: int = 512) -> Path:
    """``len(sizes)`` committed shards of ``sizes[k]`` samples, keys ``img{k}_{i}``, plus index.json."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    shardlist = []
    for k, n in enumerate(sizes):
        name = schema.shard_name(k)
        with tarfile.open(root / name, "w") as tf:
            for i in range(n):
                key = f"img{k}_{i:03d}"
                lr = _field(rng, 128)
                hr = np.asarray(Image.fromarray(lr).resize((hr_size, hr_size), Image.BICUBIC))
                members = {"deg.json": json.dumps({"bins": [0, 1, 2]}).encode(), "hr.png": _png(hr),
                           "lr.png": _png(lr), "prompt.txt": b"slight blur, mild noise",
                           "src.json": json.dumps({"source": "test", "seed": seed}).encode()}
                for ext in sorted(members):
                    info = tarfile.TarInfo(f"{key}.{ext}")
                    info.size, info.mtime = len(members[ext]), 0
                    tf.addfile(info, io.BytesIO(members[ext]))
        write_json_atomic(schema.marker_path(root / name), {"shard": name, "nsamples": n})
        shardlist.append({"url": name, "nsamples": n})
    write_json_atomic(root / schema.INDEX_JSON, {"wids_version": 1, "shardlist": shardlist})
    return root


@pytest.fixture(scope="session")
def tiny_llava_dir(tmp_path_factory) -> Path:
    return build_tiny_llava(tmp_path_factory.mktemp("llava") / "tiny-llava")


@pytest.fixture(scope="session")
def tiny_ram_path(tmp_path_factory) -> Path:
    return build_tiny_ram(tmp_path_factory.mktemp("ram"), "ram")


@pytest.fixture
def tiny_build(tmp_path) -> Path:
    """Two committed shards (5 and 3 samples) with a reduced HR size to keep tests fast."""
    return write_tiny_build(tmp_path / "build", [5, 3], hr_size=128)


@pytest.fixture
def caption_cfg(tiny_llava_dir, tiny_ram_path) -> CaptionConfig:
    """CPU, fp32, tiny models, small batches and short captions."""
    return CaptionConfig(llava=str(tiny_llava_dir), ram_checkpoint=str(tiny_ram_path),
                         ram_image_size=TINY_IMAGE_SIZE, device="cpu", gpus=1, batch_size=4,
                         tag_batch_size=4, max_new_tokens=6)
