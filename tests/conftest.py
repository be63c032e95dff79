"""Shared test fixtures: where the read-only shared data lives, and hypothesis profiles."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# CI has ../shared beside the clone; users installing the package do not. Tests that need it
# skip with the reason spelled out.
SHARED_DATA = Path(
    os.environ.get(
        "INTERLEAVE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"
    )
)

# derandomize: CI sees the same examples on every run, so a red build is a reproducible bug, not
# the luck of the draw. HYPOTHESIS_PROFILE=explore searches new examples (run it while developing).
settings.register_profile(
    "default", deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "explore", deadline=None, max_examples=500, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared datasets folder, or a skip naming where it was looked for."""
    if not SHARED_DATA.is_dir():
        pytest.skip(
            f"shared datasets not found at {SHARED_DATA}; set INTERLEAVE_SHARED_DATA to the "
            "folder holding yandex_wscd2012_relpred_pyclick_sample/ and letor4_mq2008_partial/"
        )
    return SHARED_DATA
