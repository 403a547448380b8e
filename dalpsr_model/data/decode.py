"""Raw shard members -> a decoded sample (only after the shuffle buffer).

A sample that cannot be decoded raises :class:`CorruptSample` with a reason; the stream
counts and logs it and goes on. Image sides come from the build (``BuildInfo.geometry``):
an image of another size is corrupt, whatever the build's patch size is.
"""

from __future__ import annotations

import json
from typing import Any

import torch
from PIL import Image

from dalpsr_data.buildinfo import Geometry
from dalpsr_data.schema import DEGRADATION_TYPES, NUM_BINS, decode_png_member

ALL_FIELDS = ("lr", "hr", "bins", "degrees", "prompt", "caption", "key")


class CorruptSample(ValueError):
    """A sample whose members are missing or undecodable; the message is the reason."""


def _image(data: bytes | None, size: int, name: str) -> torch.Tensor:
    """PNG bytes -> (3, size, size) float32 in [0, 1]."""
    if data is None:
        raise CorruptSample(f"missing {name}")
    try:
        arr = decode_png_member(data)  # decompression-bomb guard stays on
    except (OSError, ValueError, Image.DecompressionBombError) as e:
        raise CorruptSample(f"{name} does not decode: {e}") from e
    if arr.shape != (size, size, 3):
        raise CorruptSample(f"{name} is {arr.shape[1]}x{arr.shape[0]}, expected {size}x{size}")
    return torch.from_numpy(arr).permute(2, 0, 1).float().div_(255.0)


def _deg_values(data: bytes | None, field: str, cast: type) -> list:
    """deg.json -> [blur, noise, jpeg] values of ``field`` ("bins" or "degrees"), cast."""
    if data is None:
        raise CorruptSample("missing deg.json")
    try:
        values = json.loads(data.decode("utf-8"))[field]
        return [cast(values[t]) for t in DEGRADATION_TYPES]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
        raise CorruptSample(f"deg.json has no valid {field}: {e}") from e


def _bins(data: bytes | None) -> torch.Tensor:
    """deg.json -> (3,) int64 bins in 0..NUM_BINS-1 (0..3) for (blur, noise, jpeg)."""
    values = _deg_values(data, "bins", int)
    if not all(0 <= v < NUM_BINS for v in values):
        raise CorruptSample(f"deg.json bins out of range 0..{NUM_BINS - 1}: {values}")
    return torch.tensor(values, dtype=torch.int64)


def _degrees(data: bytes | None) -> torch.Tensor:
    """deg.json -> (3,) float32 degrees in [0,1] for (blur, noise, jpeg): the quantile of each
    severity that the bins cut at 0.25 / 0.5 / 0.75 (docs/degradation.md)."""
    values = _deg_values(data, "degrees", float)
    if not all(0.0 <= v <= 1.0 for v in values):  # also rejects NaN
        raise CorruptSample(f"deg.json degrees outside [0, 1]: {values}")
    return torch.tensor(values, dtype=torch.float32)


def decode_sample(key: str, members: dict[str, bytes], caption: str, fields: tuple[str, ...],
                  hr_signed: bool, geometry: Geometry | None = None) -> dict[str, Any]:
    """Decode the requested ``fields`` of one sample of a build with ``geometry`` (needed for
    lr/hr: P = geometry.patch_size, p = geometry.lr_size, 512 and 128 by default).

    lr: (3,p,p) float32 in [0,1]; hr: (3,P,P) float32 in [-1,1] when ``hr_signed``
    (the diffusion convention) else [0,1]; bins: (3,) int64; degrees: (3,) float32 in [0,1]; prompt/caption/key: str.
    """
    if geometry is None and ("lr" in fields or "hr" in fields):
        raise ValueError("decoding lr/hr needs the build's geometry (BuildInfo.geometry)")
    out: dict[str, Any] = {}
    if "lr" in fields:
        out["lr"] = _image(members.get("lr.png"), geometry.lr_size, "lr.png")
    if "hr" in fields:
        hr = _image(members.get("hr.png"), geometry.patch_size, "hr.png")
        out["hr"] = hr.mul_(2.0).sub_(1.0) if hr_signed else hr
    if "bins" in fields:
        out["bins"] = _bins(members.get("deg.json"))
    if "degrees" in fields:
        out["degrees"] = _degrees(members.get("deg.json"))
    if "prompt" in fields:
        try:
            out["prompt"] = members["prompt.txt"].decode("utf-8").strip()
        except (KeyError, UnicodeDecodeError) as e:
            raise CorruptSample(f"prompt.txt missing or not UTF-8: {e}") from e
    if "caption" in fields:
        out["caption"] = caption
    if "key" in fields:
        out["key"] = key
    return out


def collate(samples: list[dict[str, Any]], fields: tuple[str, ...]) -> dict[str, Any]:
    """Stack tensors (batch first), keep strings as lists."""
    batch: dict[str, Any] = {}
    for f in fields:
        values = [s[f] for s in samples]
        batch[f] = torch.stack(values) if isinstance(values[0], torch.Tensor) else values
    return batch
