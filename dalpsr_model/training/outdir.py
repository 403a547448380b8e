"""A training run's ``--out`` folder, checked before any work starts.

A run started again into a folder that holds a previous run's checkpoints or saved model
would begin at step 0, overwrite the saved model and mix its checkpoints with the old
ones (keep-K then keeps the wrong ones, and ``--resume latest`` picks the old run's step).
So such a folder is refused unless ``--resume latest|PATH`` continues that run or
``--overwrite`` replaces it; ``--overwrite`` removes only what a trainer writes (the
stage's ``outputs`` patterns, ``checkpoints/checkpoint-*``, ``tb/events.out.tfevents.*``
and their temporary names), never another file.

A folder that cannot be written (read-only, or below a file) is refused too, instead of
failing with a traceback when the first checkpoint is saved.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Sequence

from dalpsr_data.atomic import TMP_PREFIX
from dalpsr_data.config_io import ConfigError

# What every trainer writes (dalpsr_model.training.checkpoint, .monitor).
RUN_STATE = ("checkpoints/checkpoint-*", f"checkpoints/{TMP_PREFIX}checkpoint-*")
COMMON_OUTPUTS = (*RUN_STATE, "tb/events.out.tfevents.*")
TRAINER_DIRS = ("checkpoints", "tb")


def _matches(out: Path, patterns: Sequence[str]) -> list[Path]:
    found: list[Path] = []
    for pattern in patterns:
        found.extend(sorted(out.glob(pattern)))
        parent, _, name = pattern.rpartition("/")
        if "*" not in name:  # the atomic writers' temporary name of a file or folder output
            found.extend(sorted(out.glob(f"{parent + '/' if parent else ''}{TMP_PREFIX}{name}")))
    return found


def previous_run(out: str | Path, outputs: Sequence[str]) -> list[Path]:
    """Checkpoints and saved-model files of an earlier run in ``out`` (empty: none)."""
    out = Path(out)
    return _matches(out, (*RUN_STATE, *outputs)) if out.is_dir() else []


def _check_writable(out: Path) -> None:
    """The nearest existing folder on the way to ``out`` must take a new entry."""
    probe = out
    try:
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
    except OSError as e:  # a folder on the way that this user may not enter
        raise ConfigError(f"--out {out}: cannot reach {probe} ({e.strerror or e}): "
                          f"give a writable --out") from None
    if not probe.is_dir():
        raise ConfigError(f"--out {out}: {probe} is a file, not a folder: give another --out")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}probe-", dir=probe))
    except OSError as e:
        raise ConfigError(f"--out {out}: cannot write in {probe} ({e.strerror or e}): "
                          f"give a writable --out") from None


def check_out(cfg: Any, outputs: Sequence[str]) -> None:
    """Refuse an unwritable ``cfg.out``, or one holding a previous run without --resume or
    --overwrite (see the module docstring). ``outputs``: the stage's saved-model patterns."""
    out = Path(cfg.out)
    if cfg.resume and cfg.overwrite:
        raise ConfigError("--resume continues the run in --out, --overwrite replaces it: give one of them")
    _check_writable(out)
    found = previous_run(out, outputs)
    if found and not cfg.resume and not cfg.overwrite:
        names = ", ".join(str(p.relative_to(out)) for p in found[:3])
        raise ConfigError(f"--out {out} holds a previous run ({names}{', ...' if len(found) > 3 else ''}): "
                          f"give --resume latest to continue it, --overwrite to replace it, or another --out")


def clear_previous_run(out: str | Path, outputs: Sequence[str]) -> list[Path]:
    """Remove what a trainer wrote in ``out`` (``--overwrite``); other files stay. Returns
    the removed paths."""
    out = Path(out)
    removed = _matches(out, (*COMMON_OUTPUTS, *outputs)) if out.is_dir() else []
    for p in removed:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        else:
            p.unlink(missing_ok=True)
    for name in {*TRAINER_DIRS, *(o.split("/")[0] for o in outputs if "/" in o)}:
        d = out / name
        if d.is_dir() and not any(d.iterdir()):
            d.rmdir()
    return removed


def prepare_out(cfg: Any, outputs: Sequence[str]) -> None:
    """:func:`check_out`, then with ``--overwrite`` clear the previous run (first process only;
    the others see the same options and pass the check)."""
    check_out(cfg, outputs)
    if cfg.overwrite and os.environ.get("RANK", "0") == "0":
        clear_previous_run(cfg.out, outputs)
