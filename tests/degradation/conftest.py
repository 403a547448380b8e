"""Fixtures of the degradation tests: the default config and real 512 photo patches."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dalpsr_data.degradation import DegradationConfig

REFERENCE = Path(__file__).with_name("basicsr_reference.json")


@pytest.fixture(scope="session")
def cfg() -> DegradationConfig:
    return DegradationConfig()


@pytest.fixture(scope="session")
def photo() -> np.ndarray:
    """astronaut from scikit-image: uint8 (512, 512, 3) RGB."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut()[:512, :512])


@pytest.fixture(scope="session")
def basicsr_ref() -> dict:
    """Values of BasicSR 1.4.2's own functions (torch CPU) on fixed inputs, written by
    ``make_basicsr_reference.py`` beside this file (its docstring: which function made each
    entry, the versions and the command). Kernels rounded to 1e-12, images float32 exact."""
    return json.loads(REFERENCE.read_text())
