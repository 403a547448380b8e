"""glibc's heap settings, for processes that allocate and free multi-MB arrays in a loop.

By default glibc serves every buffer above ~128 KB (the threshold adapts, but trimming
undoes it) with its own mmap and unmaps it on free, so each new array faults its pages in
again on first write. The build's workers (a triplet's 1-7 MB arrays) and the CPU trainers
(a step's activations) each keep their freed buffers in the heap instead, with their own sizes.
"""

from __future__ import annotations

import ctypes

# glibc's mallopt parameters (malloc.h)
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3


def keep_freed_memory(mmap_threshold: int, trim_threshold: int, top_pad: int | None = None) -> bool:
    """Serve buffers up to ``mmap_threshold`` bytes from the heap and trim it only above
    ``trim_threshold`` bytes of free top (``top_pad``: extra bytes per heap growth). A
    process-wide setting; returns False where the C library is not glibc (nothing changed)."""
    settings = [(M_MMAP_THRESHOLD, mmap_threshold), (M_TRIM_THRESHOLD, trim_threshold)]
    if top_pad is not None:
        settings.append((M_TOP_PAD, top_pad))
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the running program's symbols include libc's
        return all(mallopt(p, v) == 1 for p, v in settings)
    except (OSError, AttributeError, TypeError):
        return False
