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
    """Values produced by BasicSR 1.4.2's own functions (torch CPU) for fixed inputs; see
    /work/shared/tools/ref_degrade.py. Kernels to 1e-12, images rounded to 1e-7."""
    return json.loads(REFERENCE.read_text())
