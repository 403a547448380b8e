"""One tiny kit (seed 0) for the kit and check tests: written once per session, never
modified (tests that break a part copy it first)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dalpsr_model.models.kit import write_tiny_kit


@pytest.fixture(scope="session")
def kit(tmp_path_factory) -> Path:
    return write_tiny_kit(tmp_path_factory.mktemp("kit") / "models", seed=0)
