"""What the recipe finds on disk: committed stage outputs it can reuse instead of retraining.

A stage's output counts as finished only when the file its trainer writes last exists
(written through a temporary name, so it is never half there): ``irpad.json`` after
``irpad.safetensors``, ``vision_tower.json`` after the tower weights, the ControlNet's
``config.json`` after the committed ``controlnet/`` folder. Captions are finished when
every shard of the build has a committed sidecar (its ``.done.json`` marker).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dalpsr_data import schema
from dalpsr_data.buildinfo import BuildInfo
from dalpsr_data.schema import is_captioned
from dalpsr_data.config_io import ConfigError, to_dict
from dalpsr_data.caption.run import CAPTION_JSON
from dalpsr_data.caption.llava_io import META_NAME as TOWER_META, WEIGHTS_NAME as TOWER_WEIGHTS
from dalpsr_model.irpad.io import META as IRPAD_META, WEIGHTS as IRPAD_WEIGHTS
from dalpsr_model.training.config import resume_mismatches


def uncaptioned_shards(build: BuildInfo | str | Path) -> tuple[list[str], int]:
    """(names of the build's shards without a committed caption sidecar, number of shards)."""
    build = BuildInfo.of(build)
    return [u for u in build.urls if not is_captioned(build.root, u)], len(build.urls)


def finished_irpad(folder: str | Path) -> bool:
    return (Path(folder) / IRPAD_WEIGHTS).is_file() and (Path(folder) / IRPAD_META).is_file()


def finished_tower(folder: str | Path) -> bool:
    return (Path(folder) / TOWER_WEIGHTS).is_file() and (Path(folder) / TOWER_META).is_file()


def finished_controlnet(out: str | Path) -> bool:
    return (Path(out) / "config.json").is_file() and (Path(out) / "controlnet" / "config.json").is_file()


def check_given_irpad(folder: str) -> None:
    if not finished_irpad(folder):
        raise ConfigError(f"--irpad {folder}: no {IRPAD_WEIGHTS} + {IRPAD_META} there (a folder "
                          f"written by `dalpsr-train irpad`)")


def check_given_tower(folder: str) -> None:
    if not finished_tower(folder):
        raise ConfigError(f"--vision-tower {folder}: no {TOWER_WEIGHTS} + {TOWER_META} there (the "
                          f"vision_tower/ folder written by `dalpsr-train encoder`)")


def saved_config(stage: str, out: str | Path) -> dict[str, Any] | None:
    """The config a finished stage in ``out`` was trained with (None when it records none)."""
    out = Path(out)
    if stage == "irpad":
        return json.loads((out / IRPAD_META).read_text(encoding="utf-8")).get("config")
    if stage == "controlnet":
        saved = json.loads((out / "config.json").read_text(encoding="utf-8"))
        return {k: v for k, v in saved.items() if k != "stage"}
    return None


def check_same_settings(stage: str, out: str | Path, cfg: Any) -> None:
    """A finished stage is reused only if it was trained with the settings asked for now
    (fields that a resumed run may change are ignored); otherwise say how to proceed."""
    saved = saved_config(stage, out)
    if saved is None:
        return
    current = to_dict(cfg)
    differ = [k for k in resume_mismatches(saved, current) if k in current]
    if differ:
        raise ConfigError(f"{out} holds a finished {stage} run with other settings ({', '.join(differ)}): "
                          f"give the recipe --overwrite to retrain it, or another --out")


class StageFailed(RuntimeError):
    """A stage ended without its output (e.g. caption shards that failed): the recipe stops."""


def check_caption_settings(shards: str | Path, cfg: Any) -> None:
    """Captions already begun beside the shards must have been made with the same settings
    (the caption run refuses to mix them; this says so before any stage starts)."""
    path = Path(shards) / schema.CAPTIONS_DIR / CAPTION_JSON
    if not path.is_file():
        return
    old = json.loads(path.read_text(encoding="utf-8")).get("output_hash")
    if old != cfg.output_hash():
        raise ConfigError(f"{path.parent} holds captions made with other settings (another LLaVA, RAM, "
                          f"vision tower or caption section): give the same ones, or delete {path.parent}")
