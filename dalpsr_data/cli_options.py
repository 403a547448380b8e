"""Typer commands generated from a command's frozen config dataclass (both CLIs use this).

Every field becomes an option (``batch_size`` -> ``--batch-size``, a bool ``--x/--no-x``,
a ``tuple[str, ...]`` a repeatable option or, named in ``arguments``, the positional
arguments). One rule holds for every command with a preset section: the ``paper`` preset
applies unless ``--pipeline`` names another one, and the precedence is

    dataclass default <- preset section <- options given on the command line.

The help shows each option's default as ``[default: X]``, X being what applies without
``--pipeline`` (the paper preset's value where it sets one). Only options given on the
command line override the preset (click's parameter source tells them apart), so a shown
default never masks another preset's value.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from typing import Any, Callable, List, Optional, Sequence

import typer

from dalpsr_data.config_io import SECTIONS, ConfigError, load_config, load_preset_section
from dalpsr_data.library_logs import VERBOSE_HELP, quiet_libraries

DEFAULT_PRESET = "paper"
# click's ParameterSource names (typer may bundle its own click: compare names, not members)
GIVEN = ("COMMANDLINE", "ENVIRONMENT")
ErrorMap = Sequence[tuple[tuple[type[BaseException], ...], int]]
VERBOSE = inspect.Parameter("verbose", inspect.Parameter.KEYWORD_ONLY, annotation=bool, default=typer.Option(
    False, "--verbose", help=VERBOSE_HELP))


def _scalar(tp: Any) -> tuple[Any, bool]:
    """(typer annotation, is a sequence) of a field type; Optional[X] -> X."""
    origin = typing.get_origin(tp)
    if origin is typing.Union or str(origin) == "<class 'types.UnionType'>":
        tp = [a for a in typing.get_args(tp) if a is not type(None)][0]
        origin = typing.get_origin(tp)
    if origin is tuple and typing.get_args(tp)[1:] == (Ellipsis,):
        return List[typing.get_args(tp)[0]], True
    if tp not in (str, int, float, bool):
        raise TypeError(f"config fields must be str/int/float/bool or tuple[X, ...], got {tp!r}")
    return tp, False


def preset_defaults(section: str, preset: str | None = DEFAULT_PRESET) -> dict[str, Any]:
    """The values the default preset sets for ``section`` ({} when it sets none)."""
    if preset is None or section not in SECTIONS:
        return {}
    try:
        return load_preset_section(preset, section)
    except ConfigError:  # a broken preset is reported when the command runs, not at import
        return {}


def shown_default(cls: type, section: str, name: str) -> Any:
    """What applies to field ``name`` without --pipeline: the default preset's value, else the
    dataclass default (for hand-written commands whose options span several configs)."""
    return preset_defaults(section).get(name, cls.__dataclass_fields__[name].default)


def given(ctx: Any, name: str) -> bool:
    """Whether option ``name`` was given on the command line (not its shown default)."""
    return getattr(ctx.get_parameter_source(name), "name", "") in GIVEN


def _shown(value: Any) -> bool:
    return value not in ("", None, ()) and value != []


def make_command(cls: type, section: str, body: Callable[..., None], doc: str, *,
                 arguments: Sequence[str] = (), extra: Sequence[inspect.Parameter] = (),
                 required: Sequence[str] = (),
                 errors: ErrorMap = (((ConfigError,), 2),)) -> Callable[..., None]:
    """A function typer can register: parses options, loads the config, calls ``body``.

    ``body(cfg, **extra_values)`` gets the loaded config and the values of ``extra`` (options
    that are not config fields, e.g. caption's BUILD argument and ``--local``); an extra
    annotated ``Optional`` is None unless given (its shown default is the preset's). A
    :class:`ConfigError` while loading exits 2 with one line; an exception raised by ``body``
    whose type is listed in ``errors`` exits with that code and its message (no traceback).
    Every command has ``--verbose``: without it the model libraries' bars and notices are
    hidden (dalpsr_data.library_logs). ``--pipeline`` is offered when ``section`` is a preset
    section (dalpsr_data.config_io); a ``pipeline`` field of ``cls`` then takes its value.
    Options named in ``required`` have no default: click reports them missing (exit 2).
    """
    hints = typing.get_type_hints(cls)
    with_preset = section in SECTIONS
    shown = preset_defaults(section) if with_preset else {}
    params = [inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context)]
    if with_preset:
        params.append(inspect.Parameter(
            "pipeline", inspect.Parameter.KEYWORD_ONLY, annotation=str,
            default=typer.Option(DEFAULT_PRESET, "--pipeline", show_default=True, help=(
                f"Preset name (pipelines/<name>.yaml) or yaml path; its '{section}:' section sets "
                f"every option not given here. The defaults shown are {DEFAULT_PRESET}'s."))))
    sequences = set()
    for f in dataclasses.fields(cls):
        if with_preset and f.name == "pipeline":
            continue  # --pipeline above sets it
        tp, is_seq = _scalar(hints[f.name])
        if is_seq:
            sequences.add(f.name)
        default = shown.get(f.name, f.default)
        if f.name in arguments:  # positional; one without a default value is required
            info = typer.Argument(None if is_seq else default if _shown(default) else ...,
                                  help=f.metadata.get("help", f.name), show_default=_shown(default))
        else:
            flag = "--" + f.name.replace("_", "-")
            if tp is bool and not f.name.startswith("no_"):  # a `no_x` field is the flag --no-x alone
                flag = f"{flag}/--no-{f.name.replace('_', '-')}"
            value = ... if f.name in required else list(default) if is_seq else default
            info = typer.Option(value, flag, show_default=_shown(default) and f.name not in required,
                                help=f.metadata.get("help", f.name))
        params.append(inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY,
                                        annotation=Optional[tp] if is_seq else tp, default=info))
    params.append(VERBOSE)
    extra_names = [p.name for p in extra]
    # an Optional extra shows its preset default but reaches ``body`` as None unless given
    optional_extras = {p.name for p in extra if typing.get_origin(p.annotation) is typing.Union}
    params.extend(extra)

    def command(**kwargs: Any) -> None:
        ctx = kwargs.pop("ctx")
        quiet_libraries(kwargs.pop("verbose"))  # before any library is imported
        pipeline = kwargs.pop("pipeline") if with_preset else None  # else maybe a field of cls
        extras = {k: kwargs.pop(k) for k in extra_names}
        extras.update({k: None for k in optional_extras if not given(ctx, k)})
        overrides = {k: (tuple(v) if k in sequences else v) for k, v in kwargs.items() if given(ctx, k)}
        if with_preset and "pipeline" in cls.__dataclass_fields__:
            overrides["pipeline"] = pipeline
        try:
            cfg = load_config(cls, pipeline, section, overrides)
        except ConfigError as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(2) from e
        try:
            body(cfg, **extras)
        except BaseException as e:
            for types, code in errors:
                if isinstance(e, types):
                    typer.echo(f"error: {e}", err=True)
                    raise typer.Exit(code) from e
            raise

    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__doc__ = doc + (f"\n\nSettings: pipelines/{DEFAULT_PRESET}.yaml's '{section}:' section "
                             f"applies unless --pipeline names another preset; options given here "
                             f"override it." if with_preset else "")
    command.__name__ = section
    return command
