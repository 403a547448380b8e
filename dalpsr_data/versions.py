"""Installed package versions, recorded beside outputs (caption.json, run.json, eval reports)."""

from __future__ import annotations

import importlib.metadata as md
from typing import Iterable


def package_versions(names: Iterable[str], missing: str | None = "unknown") -> dict[str, str]:
    """{name: version} of installed distributions; a missing one maps to ``missing``, or is
    left out when ``missing`` is None."""
    out = {}
    for name in names:
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            if missing is not None:
                out[name] = missing
    return out
