"""Restoration prompts in the paper's form, and their parser.

    Deblur with sigma 0.5~0.75, Denoise with sigma 0.25~0.5, Dejpeg with sigma 0~0.25

Bin b of ``NUM_BINS`` (4) names the degree interval [b/4, (b+1)/4], printed as 0, 0.25, 0.5, 0.75, 1.
"""

from __future__ import annotations

import numbers
import re
from typing import Mapping

from dalpsr_data.schema import DEGRADATION_TYPES, NUM_BINS

_VERBS = tuple(zip(DEGRADATION_TYPES, ("Deblur", "Denoise", "Dejpeg")))
_BOUNDS = tuple(f"{b / NUM_BINS:g}" for b in range(NUM_BINS + 1))  # "0", "0.25", ..., "1"
_INTERVALS = tuple(f"{_BOUNDS[b]}~{_BOUNDS[b + 1]}" for b in range(NUM_BINS))
_PATTERN = re.compile(
    r"^\s*Deblur with sigma (?P<blur>[0-9.]+~[0-9.]+), Denoise with sigma (?P<noise>[0-9.]+~[0-9.]+), "
    r"Dejpeg with sigma (?P<jpeg>[0-9.]+~[0-9.]+)\s*$")


def restoration_prompt(bins: Mapping[str, int]) -> str:
    """{"blur": 2, "noise": 1, "jpeg": 0} -> 'Deblur with sigma 0.5~0.75, Denoise ..., Dejpeg ...'."""
    parts = []
    for key, verb in _VERBS:
        b = bins[key]
        if isinstance(b, bool) or not isinstance(b, numbers.Integral) or not 0 <= b < NUM_BINS:
            raise ValueError(f"bin for {key} must be an int in 0..{NUM_BINS - 1}, got {b!r}")
        b = int(b)
        parts.append(f"{verb} with sigma {_INTERVALS[b]}")
    return ", ".join(parts)


def parse_prompt(text: str) -> dict[str, int]:
    """Inverse of restoration_prompt; raises ValueError on anything else."""
    m = _PATTERN.match(text)
    if m is None:
        raise ValueError(f"not a restoration prompt: {text!r}")
    out = {}
    for key, _ in _VERBS:
        try:
            out[key] = _INTERVALS.index(m.group(key))
        except ValueError:
            raise ValueError(f"bad {key} interval {m.group(key)!r} in prompt; expected one of "
                             f"{list(_INTERVALS)}") from None
    return out
