"""Per-sample random generators: one numpy Generator per (build seed, sample key).

Nothing in the toolkit draws from global random state, so a sample's values never
depend on which worker ran it, in which order, or with how many threads.
"""

from __future__ import annotations

import hashlib

import numpy as np


def seed_for(seed: int, key: str, stream: str = "") -> int:
    """A 128-bit integer derived from (seed, key, stream) by sha256; stable across platforms."""
    digest = hashlib.sha256(f"{int(seed)}\x00{key}\x00{stream}".encode("utf-8")).digest()
    return int.from_bytes(digest[:16], "little")


def rng_for(seed: int, key: str, stream: str = "") -> np.random.Generator:
    """A PCG64 Generator for one sample; ``stream`` separates independent uses (crop, degradation)."""
    return np.random.Generator(np.random.PCG64(seed_for(seed, key, stream)))
