"""Generate a typer command whose options are exactly a stage config's fields.

``--pipeline NAME_OR_YAML`` picks a preset; every other option defaults to "not given"
(None) so the precedence is dataclass default <- preset section <- command line. The
help text shows the dataclass default.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from typing import Any, Callable, Optional

import typer

from dalpsr_data.config_io import ConfigError, load_config
from dalpsr_data.schema import ShardFormatError
from dalpsr_model.training.errors import NonFiniteLossError


def _option_type(tp: Any) -> Any:
    """Optional[scalar] for typer; unions collapse to their first non-None member."""
    origin = typing.get_origin(tp)
    if origin is typing.Union or str(origin) == "<class 'types.UnionType'>":
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        tp = args[0]
    if tp not in (str, int, float, bool):
        raise TypeError(f"stage config fields must be str/int/float/bool, got {tp!r}")
    return Optional[tp]


def make_stage_command(cls: type, section: str, body: Callable[[Any], None],
                       doc: str) -> Callable[..., None]:
    """A function typer can register: parses options, loads the config, calls ``body(cfg)``.

    A :class:`ConfigError` (bad option, preset, or a check ``body`` makes before work), an
    unreadable build index or a missing shard/model file exits with code 2 and its message; a :class:`NonFiniteLossError` exits with code 1.
    """
    hints = typing.get_type_hints(cls)
    params = [inspect.Parameter(
        "pipeline", inspect.Parameter.KEYWORD_ONLY, annotation=Optional[str],
        default=typer.Option(None, "--pipeline", help=f"Preset name (pipelines/<name>.yaml) or yaml path; its '{section}:' section sets defaults.",
                             show_default="none"))]
    for f in dataclasses.fields(cls):
        flag = "--" + f.name.replace("_", "-")
        if hints[f.name] is bool or hints[f.name] == Optional[bool]:
            flag = f"{flag}/--no-{f.name.replace('_', '-')}"
        params.append(inspect.Parameter(
            f.name, inspect.Parameter.KEYWORD_ONLY, annotation=_option_type(hints[f.name]),
            default=typer.Option(None, flag, help=f.metadata.get("help", f.name),
                                 show_default=repr(f.default) if isinstance(f.default, str) else str(f.default))))

    def command(**kwargs: Any) -> None:
        pipeline = kwargs.pop("pipeline")
        try:
            cfg = load_config(cls, pipeline, section, kwargs)
        except ConfigError as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(2) from e
        try:
            body(cfg)
        except (ConfigError, ShardFormatError, FileNotFoundError) as e:
            # A missing/unfinished build or a missing shard or model file: say what, no traceback.
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(2) from e
        except NonFiniteLossError as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(1) from e

    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__doc__ = doc
    command.__name__ = section
    return command
