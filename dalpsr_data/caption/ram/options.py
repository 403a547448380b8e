"""How the command that loads RAM spells its options, so every error names its own.

`dalpsr-data caption` takes ``--ram-checkpoint``, ``--ram-variant``, ...; `dalpsr-data
convert-ram` takes a CHECKPOINT argument, ``--variant``, ... The loaders take one of
these and put its names in their messages.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class RamOptionNames:
    """Option spellings of one command (``checkpoint`` is a phrase: an option or an argument)."""

    checkpoint: str
    variant: str
    image_size: str
    allow_unsafe_load: str
    tag_list: str
    thresholds: str
    suggest_convert: bool  # point at `dalpsr-data convert-ram` (not when convert-ram prints it)


CAPTION_OPTIONS = RamOptionNames(
    checkpoint="with --ram-checkpoint", variant="--ram-variant", image_size="--ram-image-size",
    allow_unsafe_load="--ram-allow-unsafe-load", tag_list="--ram-tag-list", thresholds="--ram-thresholds",
    suggest_convert=True)
CONVERT_OPTIONS = RamOptionNames(
    checkpoint="as the CHECKPOINT argument", variant="--variant", image_size="--image-size",
    allow_unsafe_load="--allow-unsafe-load", tag_list="--tag-list", thresholds="--thresholds",
    suggest_convert=False)
