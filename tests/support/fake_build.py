"""A schema-conforming tiny build folder with synthetic images (no real degradation).

For loader and trainer tests that need shards but not the build pipeline. Keys encode
shard and sample ids (``s00003_i0002``) so a test can tell exactly which samples it saw.
The LR image of a sample is a flat colour whose red channel encodes ``bins`` so a model
can learn the labels; HR is a flat colour too.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import numpy as np
from PIL import Image

from dalpsr_data.atomic import write_json_atomic
from dalpsr_data.schema import CAPTIONS_DIR, INDEX_JSON, marker_path, shard_name


def _png(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def sample_key(shard: int, i: int) -> str:
    return f"s{shard:05d}_i{i:04d}"


def sample_bins(shard: int, i: int) -> list[int]:
    """Deterministic labels of a fake sample: (blur, noise, jpeg) bins in 0..3."""
    return [(shard + i) % 4, (shard * 3 + i * 2) % 4, (i // 2) % 4]


def sample_degrees(shard: int, i: int) -> list[float]:
    """Deterministic degrees in [0,1], each inside its sample_bins bin."""
    return [(b + ((7 * shard + 3 * i + t) % 10 + 0.5) / 10) / 4 for t, b in enumerate(sample_bins(shard, i))]


def _add(tf: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime = len(data), 0
    tf.addfile(info, io.BytesIO(data))


def write_fake_build(root: str | Path, sizes: list[int], captions: bool = False,
                     hr_size: int = 512, lr_size: int = 128, degrees: bool = True) -> Path:
    """Write ``len(sizes)`` shards with ``sizes[k]`` samples each, plus index.json and markers;
    with ``captions`` also caption sidecars (caption = ``"caption of <key>"``); ``degrees=False``
    leaves the continuous degrees out of deg.json (a build from another tool)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    shardlist = []
    for s, n in enumerate(sizes):
        name = shard_name(s)
        with tarfile.open(root / name, "w", format=tarfile.USTAR_FORMAT) as tf:
            for i in range(n):
                key, bins = sample_key(s, i), sample_bins(s, i)
                lr = np.zeros((lr_size, lr_size, 3), np.uint8)
                lr[..., 0] = 40 * bins[0] + 10 * bins[1] + 2 * bins[2]
                lr[..., 1] = (7 * s + i) % 256
                hr = np.full((hr_size, hr_size, 3), (13 * i + s) % 256, np.uint8)
                deg = {"bins": dict(zip(("blur", "noise", "jpeg"), bins))}
                if degrees:
                    deg["degrees"] = dict(zip(("blur", "noise", "jpeg"), sample_degrees(s, i)))
                members = {"deg.json": json.dumps(deg).encode(), "hr.png": _png(hr),
                           "lr.png": _png(lr), "prompt.txt": f"prompt of {key}".encode(),
                           "src.json": json.dumps({"source": "fake"}).encode()}
                for ext in sorted(members):
                    _add(tf, f"{key}.{ext}", members[ext])
        write_json_atomic(marker_path(root / name), {"nsamples": n})
        shardlist.append({"url": name, "nsamples": n})
        if captions:
            cap_dir = root / CAPTIONS_DIR
            cap_dir.mkdir(exist_ok=True)
            side = cap_dir / name.replace(".tar", ".jsonl")
            side.write_text("".join(json.dumps({"key": sample_key(s, i), "caption": f"caption of {sample_key(s, i)}"}) + "\n"
                                    for i in range(n)), encoding="utf-8")
            write_json_atomic(marker_path(side), {"nsamples": n})
    write_json_atomic(root / INDEX_JSON, {"__kind__": "wids-shard-index-v1", "name": "fake",
                                          "shardlist": shardlist})
    return root
