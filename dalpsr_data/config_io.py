"""Frozen config dataclasses <-> yaml presets, CLI overrides and stable hashes.

Every command has one frozen dataclass. A preset in ``pipelines/*.yaml`` holds one
top-level section per command (``degradation``, ``patches``, ``build``, ``caption``,
``irpad``, ``encoder``, ``controlnet``); a section only names the fields it changes.
Unknown keys and unknown sections are an error (a typo in a preset must not silently fall
back to a default), and so is a value of the wrong type; each error is one line that names
the file, the key and what was expected.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import types
import typing
from pathlib import Path, PurePath
from typing import Any, Mapping, TypeVar

import yaml

T = TypeVar("T")

PIPELINES_DIR = Path(__file__).resolve().parent.parent / "pipelines"
# The top-level sections a preset may hold: one per command that reads a preset.
SECTIONS = ("degradation", "patches", "build", "caption", "irpad", "encoder", "controlnet")


class ConfigError(ValueError):
    """A configuration that must be fixed before any work starts; the message says how."""


def opt(default: Any, help: str) -> Any:  # noqa: A002 - mirrors typer's keyword
    """A dataclass field with CLI help text (dalpsr_data.cli_options shows it with its default)."""
    return dataclasses.field(default=default, metadata={"help": help})


def differing_keys(saved: Mapping[str, Any], now: Mapping[str, Any], skip: Any = ()) -> list[str]:
    """Sorted keys (outside ``skip``) whose values differ between two config dicts (a key
    missing on one side counts as None there)."""
    return sorted(k for k in set(saved) | set(now) if k not in skip and saved.get(k) != now.get(k))


def changed_options(saved: Mapping[str, Any], now: Mapping[str, Any], skip: Any = ()) -> list[str]:
    """'--opt: old -> new' for each of :func:`differing_keys` (the wording of every
    "this folder was made with other settings" message)."""
    return [f"--{k.replace('_', '-')}: {saved.get(k)!r} -> {now.get(k)!r}" for k in differing_keys(saved, now, skip)]


def like(cls: type, name: str) -> Any:
    """The field ``name`` of the dataclass ``cls`` again: same default, same help, so a
    command that repeats another's option cannot drift from it."""
    f = cls.__dataclass_fields__[name]
    return dataclasses.field(default=f.default, metadata=f.metadata)


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


def read_preset(path: Path) -> dict[str, Any]:
    """The whole preset file as {section: mapping}; a syntax error names the file and line,
    a misspelt section is named with the list of valid ones."""
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f) or {}
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        what = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"{path}: YAML syntax error{where}: {what}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"preset {path} cannot be read ({e})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping of sections {list(SECTIONS)}")
    unknown = [str(k) for k in data if k not in SECTIONS]
    if unknown:
        raise ConfigError(f"{path}: {_unknown('section', unknown, SECTIONS)}; valid sections: "
                          f"{', '.join(SECTIONS)}")
    return data


def _unknown(kind: str, names: list[str], valid: tuple[str, ...] | list[str]) -> str:
    """"unknown section 'pacthes' (did you mean 'patches'?)" for one or more names."""
    parts = []
    for k in names:
        close = difflib.get_close_matches(k, list(valid), n=1)
        parts.append(f"{k!r} (did you mean {close[0]!r}?)" if close else repr(k))
    return f"unknown {kind}{'s' if len(names) > 1 else ''} {', '.join(parts)}"


def load_preset_section(name_or_path: str | Path | None, section: str) -> dict[str, Any]:
    """The mapping under ``section`` of a preset file ({} when the preset has none)."""
    if name_or_path is None:
        return {}
    path = resolve_preset(name_or_path)
    data = read_preset(path)
    value = data.get(section, {}) or {}
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: section {section!r} must be a mapping")
    return value


_SCALAR_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}


def _expected(tp: Any) -> str:
    """'an integer', 'a list of numbers', 'a string or null': what a value of ``tp`` looks like."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return " or ".join(_expected(a) for a in args) + " or null"
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a list of {_expected(args[0]).split(' ', 1)[-1]}s"
        return f"a list of {len(args)} values"
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    return _SCALAR_NAMES.get(tp, getattr(tp, "__name__", str(tp)))


def _convert(tp: Any, value: Any, where: str, build: bool = True) -> Any:
    """Convert a yaml/json value to the annotated field type (tuples, nested dataclasses);
    a value of the wrong type is a ConfigError naming ``where`` and the expected type.
    ``build=False`` only checks a nested mapping (its fields may be partial)."""
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if isinstance(value, tp):
            return value
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a mapping for {tp.__name__}, got {value!r}")
        return from_dict(tp, value, where) if build else check_fields(tp, value, where)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        if len(args) != 1:
            return value
        try:
            return _convert(args[0], value, where, build)
        except ConfigError:
            raise ConfigError(f"{where}: expected {_expected(tp)}, got {value!r}") from None
    if origin is tuple:
        args = typing.get_args(tp)
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected {_expected(tp)}, got {value!r}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(args[0], v, where, build) for v in value)
        if len(args) != len(value):
            raise ConfigError(f"{where}: expected {len(args)} values, got {list(value)!r}")
        return tuple(_convert(a, v, where, build) for a, v in zip(args, value))
    if tp in _SCALAR_NAMES:
        if tp is str and isinstance(value, PurePath):
            return str(value)
        if tp is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if tp is int and isinstance(value, float) and value.is_integer():
            return int(value)
        # bool is a subclass of int in Python, but `shard_size: true` is a mistake
        if not isinstance(value, tp) or (tp is not bool and isinstance(value, bool)):
            raise ConfigError(f"{where}: expected {_SCALAR_NAMES[tp]}, got {value!r}")
    return value


def check_fields(cls: type, data: Mapping[str, Any], where: str) -> None:
    """Unknown keys and value types of a (possibly partial) mapping for ``cls``."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(str(k) for k in set(data) - names)
    if unknown:
        raise ConfigError(f"{where}: {_unknown('field', unknown, sorted(names))}; known fields: "
                          f"{', '.join(sorted(names))}")
    for k, v in data.items():
        _convert(hints[k], v, f"{where}.{k}", build=False)


def from_dict(cls: type[T], data: Mapping[str, Any], where: str | None = None) -> T:
    """Build a (possibly nested) frozen dataclass from a mapping; unknown keys fail."""
    where = where or cls.__name__
    check_fields(cls, data, where)
    hints = typing.get_type_hints(cls)
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
    from_preset = load_preset_section(preset, section)
    if from_preset:  # a mistake in the file is reported with the file's name
        check_fields(cls, from_preset, f"{resolve_preset(preset)}: {section}")  # type: ignore[arg-type]
    data = merge(from_preset, overrides or {})
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
