"""Parts shared by every `dalpsr-train` stage: config base, CLI generation, accelerate
setup, atomic checkpoints, logging/progress and the generic step loop.

See docs/trainer-api.md for how a stage plugs into them. Names are imported lazily so
that ``dalpsr-train --help`` (which needs only config and CLI parts) does not load torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "CheckpointManager": "checkpoint", "find_latest_checkpoint": "checkpoint",
    "load_checkpoint": "checkpoint", "save_checkpoint": "checkpoint",
    "make_stage_command": "cli_options",
    "TrainConfig": "config", "opt": "config",
    "NonFiniteLossError": "errors",
    "StepOutput": "loop", "Trainer": "loop", "TrainResult": "loop",
    "make_optimizer": "loop", "make_scheduler": "loop",
    "make_accelerator": "accel", "seed_everything": "accel",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
