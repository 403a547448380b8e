"""Every value drawn for one sample, as frozen dataclasses with a type-stable dict form.

Type stability matters because ``<key>.deg.json`` is read by columnar readers that infer a
schema from the first rows: every field is always present, never null (a step that was not
applied has a flag and neutral values), floats are always floats and ints always ints.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Any, Mapping


@dataclass(frozen=True)
class KernelParams:
    """One blur kernel. ``family`` is a BasicSR family name, ``"sinc"``, or ``"identity"``.

    Unused fields hold neutral values: sigma_x/sigma_y/theta/beta are 0.0 for sinc/identity,
    theta is 0.0 and sigma_y == sigma_x for isotropic families, beta is 0.0 for Gaussians,
    omega_c is 0.0 unless sinc. ``size`` is the unpadded odd size (1 for identity).
    """

    family: str
    size: int
    sigma_x: float = 0.0
    sigma_y: float = 0.0
    theta: float = 0.0
    beta: float = 0.0
    omega_c: float = 0.0


@dataclass(frozen=True)
class ResizeParams:
    """direction up/down/keep; ``scale`` the drawn factor (1.0 for keep); mode area/bilinear/bicubic."""

    direction: str
    scale: float
    mode: str


@dataclass(frozen=True)
class NoiseParams:
    """kind gaussian/poisson; ``sigma`` in 1/255 (0.0 for poisson); ``poisson_scale`` (0.0 for
    gaussian); ``gray`` one noise field for all channels; ``seed`` of the noise field's PCG64."""

    kind: str
    sigma: float
    poisson_scale: float
    gray: bool
    seed: int


@dataclass(frozen=True)
class StageParams:
    """One degradation stage. Stage 2's ``jpeg_quality`` is the final JPEG's quality."""

    blur_applied: bool
    kernel: KernelParams
    resize: ResizeParams
    noise: NoiseParams
    jpeg_quality: int


@dataclass(frozen=True)
class FinalParams:
    """Order of the last step, the mode of the resize to LR, and the final sinc."""

    resize_first: bool
    mode: str
    sinc_applied: bool
    sinc: KernelParams


@dataclass(frozen=True)
class DegradationParams:
    """All values drawn for one sample; ``apply(gt, params, cfg)`` needs nothing else."""

    stage1: StageParams
    stage2: StageParams
    final: FinalParams

    def to_dict(self) -> dict[str, Any]:
        return _to_dict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "DegradationParams":
        return _from_dict(cls, d)


def _to_dict(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj):
        return {f.name: _to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    return obj


def _from_dict(cls: type, d: Mapping[str, Any]) -> Any:
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    missing = [n for n in names if n not in d]
    extra = sorted(set(d) - set(names))
    if missing or extra:
        raise ValueError(f"{cls.__name__}: missing fields {missing}, unknown fields {extra}")
    kwargs = {}
    for n in names:
        tp, v = hints[n], d[n]
        if dataclasses.is_dataclass(tp):
            kwargs[n] = _from_dict(tp, v)
        elif tp is float:
            kwargs[n] = float(v)
        elif tp is int or tp is bool:
            if isinstance(v, float) and not v.is_integer():
                raise ValueError(f"{cls.__name__}.{n}: expected {tp.__name__}, got {v!r}")
            kwargs[n] = tp(v)
        else:
            kwargs[n] = str(v)
    return cls(**kwargs)
