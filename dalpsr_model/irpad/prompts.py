"""The twelve degradation prompts IRPAD retrieves: 3 types x 4 bins, in the paper's wording.

Query ``t * 4 + b`` is the prompt of type ``DEGRADATION_TYPES[t]`` at bin ``b``, e.g.
query 6 = "Denoise with sigma 0.5~0.75".
"""

from __future__ import annotations

from dalpsr_data.degradation.prompt import restoration_prompt
from dalpsr_data.schema import DEGRADATION_TYPES, NUM_BINS


def degradation_prompts() -> list[str]:
    """12 strings, type-major: blur bins 0..3, noise bins 0..3, jpeg bins 0..3."""
    per_bin = [restoration_prompt({t: b for t in DEGRADATION_TYPES}).split(", ")
               for b in range(NUM_BINS)]
    return [per_bin[b][t] for t in range(len(DEGRADATION_TYPES)) for b in range(NUM_BINS)]


def bins_to_prompt(bins: list[int]) -> str:
    """(blur, noise, jpeg) bins -> the restoration prompt the ControlNet is conditioned on."""
    return restoration_prompt(dict(zip(DEGRADATION_TYPES, (int(b) for b in bins))))
