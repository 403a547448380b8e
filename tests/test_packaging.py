"""pyproject.toml reads without setuptools deprecation warnings (every `make demo`/`make test`
install printed two 15-line "`project.license` as a TOML table is deprecated" banners)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_pyproject_applies_without_deprecation_warnings():
    setuptools = pytest.importorskip("setuptools")
    if int(setuptools.__version__.split(".")[0]) < 77:  # the build itself requires >= 77 (isolated)
        pytest.skip(f"setuptools {setuptools.__version__} in this venv predates SPDX licence strings")
    from setuptools.config.pyprojecttoml import apply_configuration
    from setuptools.dist import Distribution

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dist = apply_configuration(Distribution(), ROOT / "pyproject.toml")
    assert [str(w.message).splitlines()[0] for w in caught] == []
    assert dist.metadata.license_expression == "Apache-2.0"
