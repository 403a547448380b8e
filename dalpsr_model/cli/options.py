"""The model layer's options: dalpsr_data.cli_options.make_command plus training's errors.

``--pipeline NAME_OR_YAML`` picks a preset (``paper`` when not given); precedence is
dataclass default <- preset section <- command line (see dalpsr_data.cli_options).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Callable

from dalpsr_data.cli_options import make_command
from dalpsr_data.config_io import ConfigError
from dalpsr_data.interrupt import RESUME, exit_on_signals
from dalpsr_data.schema import ShardFormatError
from dalpsr_model.training.errors import NonFiniteLossError

TRAINING_STAGES = ("irpad", "encoder", "controlnet")  # they save checkpoints and --resume
RESUMABLE = ("sr",)  # a rerun skips the finished outputs
TRAIN_RESUME = "rerun the same command with --resume latest to continue from the last checkpoint"
NO_CHECKPOINT = ("no checkpoint was saved yet (--checkpoint-every {every}): a rerun with "
                 "--resume latest starts again from step 0")
# A missing/unfinished build or a missing shard or model file is the user's to fix: exit 2;
# a non-finite loss stopped a run that had started: exit 1.
RUN_ERRORS = (((ConfigError, ShardFormatError, FileNotFoundError), 2), ((NonFiniteLossError,), 1))


def train_hint(cfg: Any) -> str:
    """The interrupted training stage's advice: resume only when a checkpoint exists to resume."""
    from dalpsr_model.training.checkpoint import find_latest_checkpoint  # torch: only on a signal

    if find_latest_checkpoint(Path(cfg.out) / "checkpoints") is not None:
        return TRAIN_RESUME
    return NO_CHECKPOINT.format(every=cfg.checkpoint_every)


def make_stage_command(cls: type, section: str, body: Callable[..., None], doc: str,
                       **kwargs: Any) -> Callable[..., None]:
    """A typer command whose options are ``cls``'s fields; ``body(cfg)`` does the work.

    A :class:`ConfigError` (bad option, preset, or a check ``body`` makes before work), an
    unreadable build index or a missing shard/model file exits with code 2 and its message;
    a :class:`NonFiniteLossError` exits with code 1. Ctrl-C / SIGTERM: one line, exit 130 / 143.
    ``kwargs`` (``arguments``, ``extra``) go to :func:`dalpsr_data.cli_options.make_command`.
    """

    def interruptible(cfg: Any, **extras: Any) -> None:
        hint: Any = RESUME if section in RESUMABLE else ""  # said only where it is true
        if section in TRAINING_STAGES:
            hint = functools.partial(train_hint, cfg)
        with exit_on_signals(hint):
            body(cfg, **extras)

    return make_command(cls, section, interruptible, doc, errors=RUN_ERRORS, **kwargs)
