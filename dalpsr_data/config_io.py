"""Frozen config dataclasses <-> yaml presets, CLI overrides and stable hashes.

Every command has one frozen dataclass. A preset in ``pipelines/*.yaml`` holds one
top-level section per command (``degradation``, ``patches``, ``build``, ``caption``,
``irpad``, ``encoder``, ``controlnet``); a section only names the fields it changes.
Unknown keys are an error (a typo in a preset must not silently fall back to a default).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import types
import typing
from pathlib import Path
from typing import Any, Mapping, TypeVar

import yaml

T = TypeVar("T")

PIPELINES_DIR = Path(__file__).resolve().parent.parent / "pipelines"


class ConfigError(ValueError):
    """A configuration that must be fixed before any work starts; the message says how."""


def resolve_preset(name_or_path: str | Path) -> Path:
    """``paper`` -> ``pipelines/paper.yaml``; an existing path is returned as is."""
    p = Path(name_or_path)
    if p.is_file():
        return p
    candidate = PIPELINES_DIR / f"{name_or_path}.yaml"
    if candidate.is_file():
        return candidate
    known = sorted(x.stem for x in PIPELINES_DIR.glob("*.yaml")) if PIPELINES_DIR.is_dir() else []
    raise ConfigError(f"preset {str(name_or_path)!r} not found: give a yaml path or one of {known}")


def load_preset_section(name_or_path: str | Path | None, section: str) -> dict[str, Any]:
    """The mapping under ``section`` of a preset file ({} when the preset has none)."""
    if name_or_path is None:
        return {}
    path = resolve_preset(name_or_path)
    with open(path, encoding="utf-8") as f:
        data = yaml.safe_load(f) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping of sections")
    value = data.get(section, {}) or {}
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: section {section!r} must be a mapping")
    return value


def _convert(tp: Any, value: Any, where: str) -> Any:
    """Convert a yaml/json value to the annotated field type (tuples, nested dataclasses)."""
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if isinstance(value, tp):
            return value
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a mapping for {tp.__name__}, got {value!r}")
        return from_dict(tp, value, where)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _convert(args[0], value, where) if len(args) == 1 else value
    if origin is tuple:
        args = typing.get_args(tp)
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(args[0], v, where) for v in value)
        if len(args) != len(value):
            raise ConfigError(f"{where}: expected {len(args)} values, got {list(value)!r}")
        return tuple(_convert(a, v, where) for a, v in zip(args, value))
    if tp is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if tp is int and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def from_dict(cls: type[T], data: Mapping[str, Any], where: str | None = None) -> T:
    """Build a (possibly nested) frozen dataclass from a mapping; unknown keys fail."""
    where = where or cls.__name__
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {unknown}; known fields: {sorted(names)}")
    kwargs = {k: _convert(hints[k], v, f"{where}.{k}") for k, v in data.items()}
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{where}: {e}") from e


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Recursive dict merge; ``override`` wins; None values in override are ignored."""
    out = dict(base)
    for k, v in override.items():
        if v is None:
            continue
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = merge(out[k], v)
        else:
            out[k] = v
    return out


def load_config(cls: type[T], preset: str | Path | None, section: str,
                overrides: Mapping[str, Any] | None = None) -> T:
    """Defaults <- preset section <- CLI overrides (None means 'not given')."""
    data = merge(load_preset_section(preset, section), overrides or {})
    return from_dict(cls, data, f"{section}")


def to_dict(cfg: Any) -> Any:
    """JSON-ready view of a config (tuples become lists, Paths strings)."""
    if dataclasses.is_dataclass(cfg) and not isinstance(cfg, type):
        return {f.name: to_dict(getattr(cfg, f.name)) for f in dataclasses.fields(cfg)}
    if isinstance(cfg, (list, tuple)):
        return [to_dict(v) for v in cfg]
    if isinstance(cfg, dict):
        return {str(k): to_dict(v) for k, v in cfg.items()}
    if isinstance(cfg, Path):
        return str(cfg)
    return cfg


def canonical_json(obj: Any) -> str:
    """Sorted-key, compact JSON: the form that is hashed and compared."""
    return json.dumps(to_dict(obj), sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def config_hash(obj: Any) -> str:
    """sha256 hex of the canonical JSON of a config (or any JSON-able object)."""
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()
