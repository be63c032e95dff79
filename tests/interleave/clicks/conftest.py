"""Fixtures of the click-model tests: the Yandex WSCD 2012 sample, read once per test session."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from interleave.clicks import read_pyclick_sessions

SAMPLE = "yandex_wscd2012_relpred_pyclick_sample"


@pytest.fixture(scope="session")
def yandex_dir(shared_data: Path) -> Path:
    folder = shared_data / SAMPLE
    if not folder.is_dir():
        pytest.skip(f"{folder} not found; the Yandex sample is part of the shared datasets folder")
    return folder


@pytest.fixture(scope="session")
def yandex_train(yandex_dir: Path) -> pl.DataFrame:
    return read_pyclick_sessions(yandex_dir / "trainSample.gz")


@pytest.fixture(scope="session")
def yandex_test(yandex_dir: Path) -> pl.DataFrame:
    return read_pyclick_sessions(yandex_dir / "testSample.gz")
